import { serverMemory, startupBudgetSeconds } from '../lib/constructs/server-instance';
import { configOf, envOf, Objects, SERVER_IMAGE } from './support/fixtures';

describe('ServerInstance', () => {
  const config = configOf((input) => {
    input.servers.b.maxConcurrentScans = 24;
    input.servers.b.mergeInterval = '1500ms';
    input.servers.b.adminToken = { name: 'admin-b', key: 'token' };
  });
  const objects = new Objects(config);
  const serverA = objects.container('morphogen-server-a', 'morphogen-server');
  const serverB = objects.container('morphogen-server-b', 'morphogen-server');

  test('emits Deployment, Service and ServiceAccount per instance', () => {
    for (const [name, namespace] of [['morphogen-server-a', 'morphogen-unit-server-a'], ['morphogen-server-b', 'morphogen-unit-server-b']]) {
      expect(objects.find('Deployment', name).metadata.namespace).toBe(namespace);
      expect(objects.find('Service', name).spec.type).toBe('ClusterIP');
      expect(objects.find('ServiceAccount', name).automountServiceAccountToken).toBe(false);
    }
  });

  test('sets the variables the binary reads, without an A/B letter', () => {
    expect(envOf(serverA, 'MORPHOGEN_SERVER_ENV').value).toBe('prod');
    expect(envOf(serverA, 'MORPHOGEN_SERVER_BIND_ADDR').value).toBe('0.0.0.0:3000');
    expect(envOf(serverA, 'MORPHOGEN_SERVER_MATRIX_FILE').value).toBe('/var/lib/morphogen/matrix.bin');
    expect(envOf(serverA, 'MORPHOGEN_SERVER_MAX_CONCURRENT_SCANS').value).toBe('32');
    expect(envOf(serverA, 'MORPHOGEN_SERVER_MERGE_INTERVAL_MS').value).toBe('1000');
    expect(envOf(serverB, 'MORPHOGEN_SERVER_MAX_CONCURRENT_SCANS').value).toBe('24');
    expect(envOf(serverB, 'MORPHOGEN_SERVER_MERGE_INTERVAL_MS').value).toBe('1500');
  });

  test('sets exactly one max-concurrent-scans variable', () => {
    const names = serverA.env.map((e: any) => e.name).filter((name: string) => name.includes('MAX_CONCURRENT_SCANS'));

    expect(names).toEqual(['MORPHOGEN_SERVER_MAX_CONCURRENT_SCANS']);
  });

  test('never sets lettered variables inside the container', () => {
    for (const container of [serverA, serverB]) {
      expect(container.env.filter((e: any) => /^MORPHOGEN_SERVER_[AB]_/.test(e.name))).toEqual([]);
    }
  });

  test('disables service links that would inject lettered variables', () => {
    expect(objects.podSpec('morphogen-server-a').enableServiceLinks).toBe(false);
    expect(objects.podSpec('morphogen-server-b').enableServiceLinks).toBe(false);
  });

  test('reads PRG keys from each instance\'s own Secret', () => {
    expect(envOf(serverA, 'MORPHOGEN_SERVER_PAGE_PRG_KEY_0').valueFrom.secretKeyRef).toEqual({ name: 'prg-a', key: 'page-prg-key-0' });
    expect(envOf(serverA, 'MORPHOGEN_SERVER_PAGE_PRG_KEY_1').valueFrom.secretKeyRef).toEqual({ name: 'prg-a', key: 'page-prg-key-1' });
    expect(envOf(serverB, 'MORPHOGEN_SERVER_PAGE_PRG_KEY_0').valueFrom.secretKeyRef).toEqual({ name: 'prg-b', key: 'page-prg-key-0' });
    expect(envOf(serverB, 'MORPHOGEN_SERVER_PAGE_PRG_KEY_1').valueFrom.secretKeyRef).toEqual({ name: 'prg-b', key: 'page-prg-key-1' });
    expect(envOf(serverA, 'MORPHOGEN_SERVER_PAGE_PRG_KEY_0').value).toBeUndefined();
  });

  test('reads the admin token from a Secret only when configured', () => {
    expect(envOf(serverA, 'MORPHOGEN_ADMIN_BEARER_TOKEN')).toBeUndefined();
    expect(envOf(serverB, 'MORPHOGEN_ADMIN_BEARER_TOKEN').valueFrom.secretKeyRef).toEqual({ name: 'admin-b', key: 'token' });
  });

  test('mounts the matrix claim read-only at /var/lib/morphogen', () => {
    const spec = objects.podSpec('morphogen-server-a');

    expect(serverA.volumeMounts).toContainEqual({ name: 'matrix', mountPath: '/var/lib/morphogen', readOnly: true });
    expect(spec.volumes).toContainEqual({ name: 'matrix', persistentVolumeClaim: { claimName: 'matrix-a', readOnly: true } });
  });

  test('exposes port 3000 named http through the Service', () => {
    const service = objects.find('Service', 'morphogen-server-a');

    expect(serverA.ports).toEqual([{ name: 'http', containerPort: 3000, protocol: 'TCP' }]);
    expect(service.spec.ports).toEqual([{ name: 'http', port: 3000, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('probes /health over HTTP', () => {
    for (const probe of [serverA.readinessProbe, serverA.livenessProbe, serverA.startupProbe]) {
      expect(probe.httpGet).toEqual({ path: '/health', port: 'http' });
    }
  });

  test('startup probe budget covers the matrix load', () => {
    const probe = serverA.startupProbe;
    const budget = probe.periodSeconds * probe.failureThreshold;
    // 10Gi at the default 100Mi/s loads in 102.4 s.
    const loadSeconds = (10 * 1024) / 100;

    expect(budget).toBeGreaterThanOrEqual(2 * loadSeconds);
    expect(budget).toBe(Math.ceil(startupBudgetSeconds(config.servers.a) / 10) * 10);
  });

  test('startup budget of a 75Gi matrix exceeds its load time', () => {
    const big = configOf((input) => {
      input.servers.a.matrix.size = '75Gi';
      input.servers.a.matrix.assumedLoadRate = '50Mi/s';
    });
    const probe = new Objects(big).container('morphogen-server-a', 'morphogen-server').startupProbe;

    expect(probe.periodSeconds * probe.failureThreshold).toBeGreaterThan((75 * 1024) / 50);
  });

  test('liveness waits for the startup probe', () => {
    // The kubelet starts liveness only after the startup probe succeeded,
    // so a startup probe must be present on every server container.
    expect(serverA.startupProbe).toBeDefined();
    expect(serverA.livenessProbe.failureThreshold * serverA.livenessProbe.periodSeconds).toBeGreaterThanOrEqual(60);
  });

  test('sets every probe field explicitly', () => {
    for (const probe of [serverA.readinessProbe, serverA.livenessProbe, serverA.startupProbe]) {
      expect(Object.keys(probe).sort()).toEqual(
        ['failureThreshold', 'httpGet', 'initialDelaySeconds', 'periodSeconds', 'successThreshold', 'timeoutSeconds'],
      );
      expect(probe.timeoutSeconds).toBeGreaterThan(1);
    }
  });

  test('single replica rolls out with Recreate', () => {
    const spec = objects.find('Deployment', 'morphogen-server-a').spec;

    expect(spec.replicas).toBe(1);
    expect(spec.strategy).toEqual({ type: 'Recreate' });
  });

  test('several replicas roll without surge', () => {
    const shared = configOf((input) => {
      input.servers.a.replicas = 3;
      input.servers.a.matrix.accessMode = 'ReadOnlyMany';
    });
    const spec = new Objects(shared).find('Deployment', 'morphogen-server-a').spec;

    expect(spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } });
  });

  test('progress deadline exceeds the startup budget', () => {
    const spec = objects.find('Deployment', 'morphogen-server-a').spec;

    expect(spec.progressDeadlineSeconds).toBeGreaterThan(startupBudgetSeconds(config.servers.a));
  });

  test('memory covers the matrix plus headroom', () => {
    expect(serverMemory(config.servers.a)).toBe(`${14 * 1024}Mi`);
    expect(serverA.resources.requests.memory).toBe(`${14 * 1024}Mi`);
    expect(serverA.resources.limits.memory).toBe(`${14 * 1024}Mi`);
  });

  test('explicit memory is used as given', () => {
    const explicit = configOf((input) => (input.servers.a.resources = { memory: '12Gi' }));

    expect(new Objects(explicit).container('morphogen-server-a', 'morphogen-server').resources.limits.memory).toBe('12Gi');
  });

  test('runs as uid and gid 10001', () => {
    const spec = objects.podSpec('morphogen-server-a');

    expect(spec.securityContext.runAsUser).toBe(10001);
    expect(spec.securityContext.runAsGroup).toBe(10001);
    expect(serverA.securityContext.runAsUser).toBe(10001);
  });

  test('pins the image and its pull policy', () => {
    expect(serverA.image).toBe(SERVER_IMAGE);
    expect(serverA.imagePullPolicy).toBe('IfNotPresent');
  });

  test('selector matches the pod labels and leaves out version', () => {
    const deployment = objects.find('Deployment', 'morphogen-server-a');
    const selector = deployment.spec.selector.matchLabels;

    expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
    expect(selector['app.kubernetes.io/version']).toBeUndefined();
    expect(selector['app.kubernetes.io/instance']).toBe('morphogen-server-a');
  });

  test('A and B select only their own pods', () => {
    const a = objects.find('Service', 'morphogen-server-a').spec.selector;
    const b = objects.find('Service', 'morphogen-server-b').spec.selector;

    expect(objects.find('Deployment', 'morphogen-server-b').spec.template.metadata.labels).not.toMatchObject(a);
    expect(objects.find('Deployment', 'morphogen-server-a').spec.template.metadata.labels).not.toMatchObject(b);
  });

  test('instance environment overrides the profile', () => {
    const mixed = configOf((input) => (input.servers.b.environment = 'production'));

    expect(envOf(new Objects(mixed).container('morphogen-server-b', 'morphogen-server'), 'MORPHOGEN_SERVER_ENV').value).toBe('prod');
  });
});
