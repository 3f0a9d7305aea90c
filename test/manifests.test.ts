import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { configFilesIn } from '../lib/cli';
import { loadConfigFile } from '../lib/config/load';
import { Manifest, synthesizeManifests } from '../lib/output/render';
import { configOf, REPO_ROOT } from './support/fixtures';

const LABEL_KEYS = [
  'app.kubernetes.io/name',
  'app.kubernetes.io/instance',
  'app.kubernetes.io/component',
  'app.kubernetes.io/part-of',
  'app.kubernetes.io/version',
  'app.kubernetes.io/managed-by',
];

// Every environment in config/, plus variants that switch on what the
// examples leave off.
const environments: [string, Manifest[]][] = [
  ...configFilesIn(join(REPO_ROOT, 'config')).map((file): [string, Manifest[]] => [file, synthesizeManifests(loadConfigFile(file, {}))]),
  ['code-data variant', synthesizeManifests(configOf((input) => {
    input.codeData = { enabled: true, claimName: 'code-data' };
    delete input.adapter.dictUrl;
    delete input.adapter.casUrl;
    input.servers.a.adminToken = { name: 'admin-a', key: 'token' };
  }))],
];

function podTemplates(manifests: Manifest[]): any[] {
  return manifests.filter((m) => m.kind === 'Deployment').map((m: any) => m.spec.template);
}

function allContainers(template: any): any[] {
  return [...template.spec.containers, ...(template.spec.initContainers ?? [])];
}

describe.each(environments)('manifests of %s', (_name, manifests) => {
  test('validate against the Kubernetes OpenAPI schema', () => {
    const output = execFileSync('node', [join(__dirname, 'support', 'validate-openapi.mjs')], {
      input: JSON.stringify(manifests),
      cwd: REPO_ROOT,
    });

    expect(JSON.parse(output.toString())).toEqual([]);
  });

  test('carry the app.kubernetes.io labels', () => {
    // Namespaces and their default deny belong to no single image, so
    // they carry every label but version.
    for (const manifest of manifests) {
      const shared = manifest.metadata.labels?.['app.kubernetes.io/instance'] === 'morphogen-namespaces';
      const expected = shared ? LABEL_KEYS.filter((key) => key !== 'app.kubernetes.io/version') : LABEL_KEYS;
      const keys = Object.keys(manifest.metadata.labels ?? {}).filter((key) => key.startsWith('app.kubernetes.io/'));

      expect(keys.sort()).toEqual([...expected].sort());
      expect(manifest.metadata.labels?.['app.kubernetes.io/part-of']).toBe('morphogen');
    }
  });

  test('have readable names without hash suffixes', () => {
    for (const manifest of manifests) {
      expect(manifest.metadata.name).toMatch(/^(morphogen(-[a-z]+)*)$/);
    }
  });

  test('set a namespace on every namespaced object', () => {
    for (const manifest of manifests.filter((m) => m.kind !== 'Namespace')) {
      expect(manifest.metadata.namespace).toBeDefined();
      expect(manifest.metadata.namespace).not.toBe('default');
    }
  });

  test('Deployment selectors match their template labels', () => {
    for (const deployment of manifests.filter((m: any) => m.kind === 'Deployment') as any[]) {
      const selector = deployment.spec.selector.matchLabels;

      expect(Object.keys(selector).length).toBeGreaterThan(0);
      expect(deployment.spec.template.metadata.labels).toMatchObject(selector);
      expect(selector['app.kubernetes.io/version']).toBeUndefined();
    }
  });

  test('Services select pods that declare their targetPort', () => {
    for (const service of manifests.filter((m) => m.kind === 'Service') as any[]) {
      const pods = podTemplates(manifests).filter((template) =>
        template.metadata.labels && Object.entries(service.spec.selector).every(([key, value]) => template.metadata.labels[key] === value));

      expect(pods).toHaveLength(1);
      const portNames = allContainers(pods[0]).flatMap((c) => (c.ports ?? []).map((p: any) => p.name));
      for (const port of service.spec.ports) {
        expect(portNames).toContain(port.targetPort);
      }
    }
  });

  test('every container sets resources, pull policy and security context', () => {
    for (const template of podTemplates(manifests)) {
      for (const container of allContainers(template)) {
        expect(container.imagePullPolicy).toBe('IfNotPresent');
        expect(Object.keys(container.resources.requests)).toEqual(expect.arrayContaining(['cpu', 'memory']));
        expect(Object.keys(container.resources.limits)).toEqual(expect.arrayContaining(['cpu', 'memory']));
        expect(container.securityContext).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          runAsNonRoot: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        });
      }
    }
  });

  test('every image is pinned by digest', () => {
    for (const template of podTemplates(manifests)) {
      for (const container of allContainers(template)) {
        expect(container.image).toMatch(/@sha256:[0-9a-f]{64}$/);
      }
    }
  });

  test('every regular container has readiness and liveness probes', () => {
    for (const template of podTemplates(manifests)) {
      for (const container of template.spec.containers) {
        expect(container.readinessProbe).toBeDefined();
        expect(container.livenessProbe).toBeDefined();
      }
    }
  });

  test('container port names fit 15 characters and are unique per pod', () => {
    for (const template of podTemplates(manifests)) {
      const names = allContainers(template).flatMap((c) => (c.ports ?? []).map((p: any) => p.name));

      expect(new Set(names).size).toBe(names.length);
      for (const name of names) {
        expect(name.length).toBeLessThanOrEqual(15);
      }
    }
  });

  test('volume mounts name declared volumes', () => {
    for (const template of podTemplates(manifests)) {
      const volumes = template.spec.volumes.map((v: any) => v.name);
      for (const container of allContainers(template)) {
        for (const mount of container.volumeMounts ?? []) {
          expect(volumes).toContain(mount.name);
        }
      }
    }
  });

  test('no cdk8s-plus address label leaks into the output', () => {
    expect(JSON.stringify(manifests)).not.toContain('cdk8s.io/metadata.addr');
  });
});
