import { configOf, envOf, Objects } from './support/fixtures';

const DEPLOYMENT = 'morphogen-code-data';

describe('CodeData', () => {
  const config = configOf((input) => {
    input.codeData = { enabled: true, claimName: 'code-data-files' };
    delete input.adapter.dictUrl;
    delete input.adapter.casUrl;
  });
  const objects = new Objects(config);
  const nginx = objects.container(DEPLOYMENT, 'nginx');
  const spec = objects.podSpec(DEPLOYMENT);

  test('is absent unless enabled', () => {
    expect(new Objects(configOf()).all.filter((m) => m.metadata.name === DEPLOYMENT)).toEqual([]);
  });

  test('serves the claim read-only', () => {
    expect(spec.volumes).toContainEqual({ name: 'code-data', persistentVolumeClaim: { claimName: 'code-data-files', readOnly: true } });
    expect(nginx.volumeMounts).toContainEqual({ name: 'code-data', mountPath: '/srv/code-data', readOnly: true });
  });

  test('writes only to emptyDir mounts', () => {
    const writable = nginx.volumeMounts.filter((m: any) => !m.readOnly).map((m: any) => m.name);
    const emptyDirs = spec.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name);

    expect(nginx.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(writable.sort()).toEqual(emptyDirs.sort());
    expect(nginx.volumeMounts.map((m: any) => m.mountPath)).toEqual(expect.arrayContaining(['/tmp', '/var/cache/nginx']));
  });

  test('runs as non-root on an unprivileged port', () => {
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.securityContext.runAsUser).not.toBe(0);
    expect(nginx.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
    expect(objects.find('ConfigMap', DEPLOYMENT).data['nginx.conf']).toContain('listen 8080;');
  });

  test('readiness checks the dictionary and cas/', () => {
    const command: string[] = nginx.readinessProbe.exec.command;

    expect(command[2]).toContain('mainnet_compact.dict');
    expect(command[2]).toContain('/cas');
    expect(command).toContain('/srv/code-data');
  });

  test('Service targets the nginx port', () => {
    expect(objects.find('Service', DEPLOYMENT).spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
  });

  test('adapter defaults DICT_URL and CAS_URL to it', () => {
    const adapter = objects.container('morphogen-rpc-adapter', 'rpc-adapter');

    expect(envOf(adapter, 'DICT_URL').value).toBe('http://morphogen-code-data.morphogen-unit.svc.cluster.local/mainnet_compact.dict');
    expect(envOf(adapter, 'CAS_URL').value).toBe('http://morphogen-code-data.morphogen-unit.svc.cluster.local/cas');
  });

  test('adapter waits for code-data before the servers', () => {
    const names = objects.podSpec('morphogen-rpc-adapter').initContainers.map((c: any) => c.name);

    expect(names).toEqual(['wait-for-code-data', 'wait-for-server-a', 'wait-for-server-b']);
  });
});
