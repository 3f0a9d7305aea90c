import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configFilesIn } from '../lib/cli';
import { loadConfigFile } from '../lib/config/load';
import { Manifest, synthesizeManifests } from '../lib/output/render';
import { configOf, exampleConfig, Objects, REPO_ROOT } from './support/fixtures';

// Rules the API server enforces but schema validators miss, and the
// security rules of the Pod Security Standards, checked on every object
// of every environment in config/.

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const RESTRICTED_VOLUMES = ['configMap', 'downwardAPI', 'emptyDir', 'projected', 'secret', 'csi', 'persistentVolumeClaim', 'ephemeral'];

const environments: [string, Manifest[]][] = configFilesIn(join(REPO_ROOT, 'config'))
  .map((file): [string, Manifest[]] => [file.slice(REPO_ROOT.length + 1), synthesizeManifests(loadConfigFile(file, {}))]);

function templates(manifests: Manifest[]): any[] {
  return manifests.filter((m) => m.kind === 'Deployment').map((m: any) => m.spec.template);
}

function containersOf(template: any): any[] {
  return [...template.spec.containers, ...(template.spec.initContainers ?? [])];
}

/** Parses a CPU or memory quantity as the API server compares them. */
function quantity(value: string): number {
  const match = /^([0-9.]+)(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(value);
  if (!match) {
    throw new Error(`unparsable quantity ${value}`);
  }
  const factors: Record<string, number> = { '': 1, m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };
  return Number(match[1]) * factors[match[2] ?? ''];
}

describe.each(environments)('%s', (_file, manifests) => {
  const pods = templates(manifests);

  test('object names are DNS subdomains of at most 253 characters', () => {
    for (const m of manifests) {
      expect(m.metadata.name.length).toBeLessThanOrEqual(253);
      expect(m.metadata.name).toMatch(DNS_SUBDOMAIN);
    }
  });

  test('Service names are DNS-1035 labels', () => {
    for (const service of manifests.filter((m) => m.kind === 'Service')) {
      expect(service.metadata.name.length).toBeLessThanOrEqual(63);
      expect(service.metadata.name).toMatch(DNS_1035);
    }
  });

  test('container names are unique DNS labels', () => {
    for (const pod of pods) {
      const names = containersOf(pod).map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) {
        expect(name).toMatch(DNS_LABEL);
      }
    }
  });

  test('container ports are valid and named by the rules', () => {
    for (const pod of pods) {
      for (const port of containersOf(pod).flatMap((c) => c.ports ?? [])) {
        expect(port.containerPort).toBeGreaterThanOrEqual(1);
        expect(port.containerPort).toBeLessThanOrEqual(65535);
        expect(['TCP', 'UDP', 'SCTP']).toContain(port.protocol);
        expect(port.name.length).toBeLessThanOrEqual(15);
        expect(port.name).toMatch(PORT_NAME);
        expect(port.name).toMatch(/[a-z]/);
        expect(port.name).not.toContain('--');
        expect(port.hostPort).toBeUndefined();
      }
    }
  });

  test('env vars are valid, unique and have one source', () => {
    for (const pod of pods) {
      for (const container of containersOf(pod)) {
        const names = (container.env ?? []).map((e: any) => e.name);
        expect(new Set(names).size).toBe(names.length);
        for (const env of container.env ?? []) {
          expect(env.name).toMatch(ENV_NAME);
          if (env.valueFrom !== undefined) {
            expect(env.value).toBeUndefined();
            expect(Object.keys(env.valueFrom)).toHaveLength(1);
          }
          const ref = env.valueFrom?.secretKeyRef;
          if (ref !== undefined) {
            expect(ref.name).toMatch(DNS_SUBDOMAIN);
            expect(ref.key).toMatch(/^[-._a-zA-Z0-9]+$/);
          }
        }
      }
    }
  });

  test('no literal value for secret-looking env names', () => {
    for (const pod of pods) {
      for (const env of containersOf(pod).flatMap((c) => c.env ?? [])) {
        if (/password|token|secret|key/i.test(env.name)) {
          expect(env.valueFrom?.secretKeyRef).toBeDefined();
        }
      }
    }
  });

  test('volume mounts are unique per container and name declared volumes', () => {
    for (const pod of pods) {
      const volumes = pod.spec.volumes.map((v: any) => v.name);
      for (const container of containersOf(pod)) {
        const paths = (container.volumeMounts ?? []).map((m: any) => m.mountPath);
        expect(new Set(paths).size).toBe(paths.length);
        for (const mount of container.volumeMounts ?? []) {
          expect(volumes).toContain(mount.name);
        }
      }
    }
  });

  test('probes have exactly one handler and legal thresholds', () => {
    for (const pod of pods) {
      for (const container of pod.spec.containers) {
        for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
          const probe = container[kind];
          if (probe === undefined) {
            continue;
          }
          const handlers = ['exec', 'httpGet', 'tcpSocket', 'grpc'].filter((h) => probe[h] !== undefined);
          expect(handlers).toHaveLength(1);
          if (probe.exec) {
            expect(probe.exec.command.length).toBeGreaterThan(0);
          }
          if (probe.httpGet) {
            expect(probe.httpGet.path).toBeTruthy();
            const ports = (container.ports ?? []).map((p: any) => p.name);
            expect(ports).toContain(probe.httpGet.port);
          }
          if (kind !== 'readinessProbe') {
            expect(probe.successThreshold).toBe(1);
          }
        }
      }
    }
  });

  test('plain init containers have no probes, lifecycle or restartPolicy', () => {
    for (const pod of pods) {
      for (const init of pod.spec.initContainers ?? []) {
        expect(init.readinessProbe).toBeUndefined();
        expect(init.livenessProbe).toBeUndefined();
        expect(init.startupProbe).toBeUndefined();
        expect(init.lifecycle).toBeUndefined();
        expect(init.restartPolicy).toBeUndefined();
      }
    }
  });

  test('requests do not exceed limits', () => {
    for (const pod of pods) {
      for (const container of containersOf(pod)) {
        for (const resource of ['cpu', 'memory']) {
          expect(quantity(container.resources.requests[resource])).toBeLessThanOrEqual(quantity(container.resources.limits[resource]));
        }
      }
    }
  });

  test('Deployment strategies are legal', () => {
    for (const deployment of manifests.filter((m) => m.kind === 'Deployment') as any[]) {
      const strategy = deployment.spec.strategy;
      if (strategy.type === 'Recreate') {
        expect(strategy.rollingUpdate).toBeUndefined();
      } else {
        const surge = strategy.rollingUpdate.maxSurge;
        const unavailable = strategy.rollingUpdate.maxUnavailable;
        expect([surge, unavailable]).not.toEqual([0, 0]);
      }
      expect(deployment.spec.progressDeadlineSeconds).toBeGreaterThan(deployment.spec.minReadySeconds);
    }
  });

  test('labels and annotations are well formed', () => {
    const metadataOf = (m: any) => [m.metadata, ...(m.kind === 'Deployment' ? [m.spec.template.metadata] : [])];
    for (const metadata of manifests.flatMap(metadataOf)) {
      for (const [key, value] of Object.entries(metadata.labels ?? {})) {
        expect(key).toMatch(QUALIFIED_NAME);
        expect(String(value).length).toBeLessThanOrEqual(63);
        expect(String(value)).toMatch(LABEL_VALUE);
      }
      for (const key of Object.keys(metadata.annotations ?? {})) {
        expect(key).toMatch(QUALIFIED_NAME);
      }
      expect(JSON.stringify(metadata.annotations ?? {}).length).toBeLessThan(256 * 1024);
    }
  });

  test('Service ports are named and unique', () => {
    for (const service of manifests.filter((m) => m.kind === 'Service') as any[]) {
      const names = service.spec.ports.map((p: any) => p.name);
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) {
        expect(name).toMatch(PORT_NAME);
      }
    }
  });

  test('PodDisruptionBudgets set one bound and an eviction policy', () => {
    for (const pdb of manifests.filter((m) => m.kind === 'PodDisruptionBudget') as any[]) {
      expect(pdb.spec.minAvailable === undefined || pdb.spec.maxUnavailable === undefined).toBe(true);
      expect(pdb.spec.maxUnavailable).not.toBe(0);
      expect(pdb.spec.unhealthyPodEvictionPolicy).toBeDefined();
    }
  });

  test('NetworkPolicy peers have a selector or an ipBlock', () => {
    for (const policy of manifests.filter((m) => m.kind === 'NetworkPolicy') as any[]) {
      const peers = [...(policy.spec.ingress ?? []).flatMap((r: any) => r.from), ...(policy.spec.egress ?? []).flatMap((r: any) => r.to)];
      for (const peer of peers) {
        expect(peer.podSelector !== undefined || peer.namespaceSelector !== undefined || peer.ipBlock !== undefined).toBe(true);
      }
    }
  });

  test('every policy with egress allows DNS', () => {
    for (const policy of manifests.filter((m) => m.kind === 'NetworkPolicy') as any[]) {
      const dnsPorts = policy.spec.egress.flatMap((r: any) => r.ports ?? []).filter((p: any) => p.port === 53).map((p: any) => p.protocol);
      expect(dnsPorts.sort()).toEqual(['TCP', 'UDP']);
    }
  });

  test('every workload is selected by a policy with ingress and egress', () => {
    const policies = manifests.filter((m) => m.kind === 'NetworkPolicy') as any[];
    for (const deployment of manifests.filter((m) => m.kind === 'Deployment') as any[]) {
      const labels = deployment.spec.template.metadata.labels;
      const covering = policies.filter((p) => p.metadata.namespace === deployment.metadata.namespace
        && Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v)
        && p.spec.policyTypes.includes('Ingress') && p.spec.policyTypes.includes('Egress'));
      expect(covering.length).toBeGreaterThanOrEqual(2);
    }
  });

  test('pods meet Pod Security Standards restricted', () => {
    for (const pod of pods) {
      const spec = pod.spec;
      expect(spec.hostNetwork).toBeUndefined();
      expect(spec.hostPID).toBeUndefined();
      expect(spec.hostIPC).toBeUndefined();
      expect(spec.securityContext.runAsNonRoot).toBe(true);
      expect(spec.securityContext.runAsUser).toBeGreaterThanOrEqual(10000);
      expect(spec.securityContext.seccompProfile.type).toBe('RuntimeDefault');
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.serviceAccountName).not.toBe('default');
      expect(manifests.some((m) => m.kind === 'ServiceAccount' && m.metadata.name === spec.serviceAccountName)).toBe(true);
      for (const volume of spec.volumes) {
        expect(Object.keys(volume).filter((k) => k !== 'name').every((k) => RESTRICTED_VOLUMES.includes(k))).toBe(true);
      }
      for (const container of containersOf(pod)) {
        expect(container.securityContext.privileged).toBe(false);
        expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
        expect(container.securityContext.capabilities.drop).toEqual(['ALL']);
        expect(container.securityContext.capabilities.add).toBeUndefined();
        expect(container.securityContext.runAsUser).toBeGreaterThanOrEqual(10000);
        expect(container.securityContext.runAsGroup).not.toBe(0);
      }
    }
  });

  test('every namespace enforces restricted', () => {
    const namespaces = new Set(manifests.map((m) => m.metadata.namespace).filter((n) => n !== undefined));
    for (const name of namespaces) {
      const namespace: any = manifests.find((m) => m.kind === 'Namespace' && m.metadata.name === name);
      for (const mode of ['enforce', 'audit', 'warn']) {
        expect(namespace.metadata.labels[`pod-security.kubernetes.io/${mode}`]).toBe('restricted');
      }
    }
  });
});

describe('README lists every referenced Secret', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const refs = synthesizeManifests(exampleConfig())
    .filter((m) => m.kind === 'Deployment')
    .flatMap((m: any) => containersOf(m.spec.template).flatMap((c) => c.env ?? []).filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => ({ namespace: m.metadata.namespace, ...e.valueFrom.secretKeyRef })));

  test('example references Secrets', () => {
    expect(refs.length).toBeGreaterThan(0);
  });

  test.each(refs)('Secret $name key $key in $namespace', ({ name, key, namespace }) => {
    const row = readme.split('\n').find((line) => line.startsWith(`| Secret \`${name}\``));

    expect(row).toBeDefined();
    expect(row).toContain(`\`${namespace}\``);
    expect(row).toContain(`\`${key}\``);
  });
});

describe('prod separation of A and B', () => {
  const objects = new Objects(configOf());
  const namespaceA = objects.find('Deployment', 'morphogen-server-a').metadata.namespace;
  const namespaceB = objects.find('Deployment', 'morphogen-server-b').metadata.namespace;

  test('A and B run in different namespaces', () => {
    expect(namespaceA).not.toBe(namespaceB);
  });

  test('no NetworkPolicy admits A to B or B to A', () => {
    for (const [policyName, otherNamespace, otherInstance] of [
      ['morphogen-server-a', namespaceB, 'morphogen-server-b'],
      ['morphogen-server-b', namespaceA, 'morphogen-server-a'],
    ]) {
      const policy = objects.all.find((m: any) => m.kind === 'NetworkPolicy' && m.metadata.name === policyName) as any;
      const ingressPeers = policy.spec.ingress.flatMap((r: any) => r.from);
      const egressPeers = policy.spec.egress.flatMap((r: any) => r.to);

      for (const peer of [...ingressPeers, ...egressPeers]) {
        expect(peer.ipBlock).toBeUndefined();
        if (peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === otherNamespace) {
          expect(peer.podSelector?.matchLabels?.['app.kubernetes.io/instance']).toBe('morphogen-rpc-adapter');
        }
        expect(peer.podSelector?.matchLabels?.['app.kubernetes.io/instance']).not.toBe(otherInstance);
      }
    }
  });

  test('servers accept ingress only from the adapter', () => {
    const policy = objects.all.find((m: any) => m.kind === 'NetworkPolicy' && m.metadata.name === 'morphogen-server-a') as any;

    expect(policy.spec.ingress.flatMap((r: any) => r.from).map((p: any) => p.podSelector.matchLabels['app.kubernetes.io/instance'])).toEqual(['morphogen-rpc-adapter']);
  });

  test('default deny covers every namespace', () => {
    const denies = objects.ofKind('NetworkPolicy').filter((p: any) => p.metadata.name === 'morphogen-default-deny');

    expect(denies.map((p: any) => p.metadata.namespace).sort()).toEqual(objects.ofKind('Namespace').map((n: any) => n.metadata.name).sort());
    for (const deny of denies) {
      expect(deny.spec.podSelector).toEqual({});
      expect(deny.spec.ingress).toEqual([]);
    }
  });

  test('A and B are required to avoid each other', () => {
    const affinityA = objects.podSpec('morphogen-server-a').affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    const affinityB = objects.podSpec('morphogen-server-b').affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;

    expect(affinityA).toEqual([{ labelSelector: { matchLabels: objects.find('Deployment', 'morphogen-server-b').spec.selector.matchLabels }, namespaces: [namespaceB], topologyKey: 'kubernetes.io/hostname' }]);
    expect(affinityB[0].namespaces).toEqual([namespaceA]);
  });

  test('topology key is configurable', () => {
    const zoned = new Objects(configOf((input) => (input.isolation = { topologyKey: 'topology.kubernetes.io/zone' })));

    expect(zoned.podSpec('morphogen-server-a').affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey).toBe('topology.kubernetes.io/zone');
  });

  test('separate ServiceAccounts without token', () => {
    expect(objects.podSpec('morphogen-server-a').serviceAccountName).not.toBe(objects.podSpec('morphogen-server-b').serviceAccountName);
    expect(objects.find('ServiceAccount', 'morphogen-server-a').automountServiceAccountToken).toBe(false);
  });

  test('test profile keeps one namespace unless asked', () => {
    const shared = new Objects(configOf((input) => (input.profile = 'test')));

    expect(shared.find('Deployment', 'morphogen-server-a').metadata.namespace).toBe(shared.find('Deployment', 'morphogen-server-b').metadata.namespace);
  });

  test('server with replicas gets a PodDisruptionBudget', () => {
    const scaled = new Objects(configOf((input) => {
      input.servers.a.replicas = 2;
      input.servers.a.matrix.accessMode = 'ReadOnlyMany';
    }));

    expect(scaled.find('PodDisruptionBudget', 'morphogen-server-a').spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    expect(objects.ofKind('PodDisruptionBudget').map((p: any) => p.metadata.name)).toEqual(['morphogen-rpc-adapter']);
  });

  test('ServiceMonitor selects the server Service when asked', () => {
    const monitored = new Objects(configOf((input) => (input.metrics = { serviceMonitor: true, scraper: { namespaceLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } })));
    const monitor = monitored.find('ServiceMonitor', 'morphogen-server-a');

    expect(monitored.find('Service', 'morphogen-server-a').metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitored.all.find((m: any) => m.kind === 'NetworkPolicy' && m.metadata.name === 'morphogen-server-a')!.spec).toMatchObject({
      ingress: [{ from: [expect.anything(), { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: {} } }] }],
    });
  });
});
