import { synthesizeManifests } from '../lib/output/render';
import { MorphogenStack } from '../lib/stack';
import { App, Chart } from 'cdk8s';
import { ADAPTER_IMAGE, configOf, envOf, Objects } from './support/fixtures';

const DEPLOYMENT = 'morphogen-rpc-adapter';

describe('RpcAdapter', () => {
  const config = configOf();
  const objects = new Objects(config);
  const adapter = objects.container(DEPLOYMENT, 'rpc-adapter');
  const forwarder = objects.container(DEPLOYMENT, 'rpc-forwarder');
  const spec = objects.podSpec(DEPLOYMENT);

  test('passes the loopback port and both server URLs', () => {
    const args: string[] = adapter.args;
    const valueOf = (flag: string) => args[args.indexOf(flag) + 1];

    expect(valueOf('--port')).toBe('8545');
    expect(valueOf('--pir-server-a')).toBe('http://morphogen-server-a.morphogen-unit-server-a.svc.cluster.local:3000');
    expect(valueOf('--pir-server-b')).toBe('http://morphogen-server-b.morphogen-unit-server-b.svc.cluster.local:3000');
    expect(valueOf('--environment')).toBe('prod');
    expect(valueOf('--otel-env')).toBe('production');
    expect(valueOf('--refresh-interval')).toBe('12');
    expect(valueOf('--upstream-timeout')).toBe('15');
  });

  test('takes server URLs from the server constructs', () => {
    const app = new App({ outdir: '/nonexistent' });
    const stack = new MorphogenStack(new Chart(app, 'urls'), 'Morphogen', { config });

    expect(stack.adapter).toBeDefined();
    expect(adapter.args).toContain(stack.serverA.url);
    expect(adapter.args).toContain(stack.serverB.url);
  });

  test('follows a server moved to another namespace', () => {
    const split = new Objects(configOf((input) => (input.servers.b.namespace = 'morphogen-b')));
    const args: string[] = split.container(DEPLOYMENT, 'rpc-adapter').args;

    expect(args[args.indexOf('--pir-server-b') + 1]).toBe('http://morphogen-server-b.morphogen-b.svc.cluster.local:3000');
    expect(split.find('Service', 'morphogen-server-b').metadata.namespace).toBe('morphogen-b');
  });

  test('adds optional flags only when configured', () => {
    expect(adapter.args).not.toContain('--fallback-to-upstream');
    expect(adapter.args).not.toContain('--tx-relay');
    expect(adapter.args).not.toContain('--otel-traces');

    const full = new Objects(configOf((input) => {
      input.adapter.txRelayUrl = 'https://relay.example.net';
      input.adapter.otel = { traces: true, endpoint: 'http://otel-collector.monitoring:4317', serviceName: 'rpc', version: '1.2.3' };
      input.adapter.fallbackToUpstream = true;
      input.adapter.allowPrivacyDegradedFallback = true;
    })).container(DEPLOYMENT, 'rpc-adapter').args;

    expect(full).toEqual(expect.arrayContaining([
      '--tx-relay', 'https://relay.example.net',
      '--otel-traces',
      '--otel-endpoint', 'http://otel-collector.monitoring:4317',
      '--otel-service-name', 'rpc',
      '--otel-version', '1.2.3',
      '--fallback-to-upstream',
      '--allow-privacy-degraded-fallback',
    ]));
  });

  test('reads the upstream URL from a Secret', () => {
    expect(envOf(adapter, 'UPSTREAM_RPC_URL').valueFrom.secretKeyRef).toEqual({ name: 'upstream', key: 'url' });
    expect(envOf(adapter, 'DICT_URL').value).toBe('https://code.example.net/mainnet_compact.dict');
    expect(envOf(adapter, 'CAS_URL').value).toBe('https://code.example.net/cas');
  });

  test('declares no container port, since it listens on loopback', () => {
    expect(adapter.ports).toBeUndefined();
  });

  test('readiness is an exec JSON-RPC probe on 127.0.0.1', () => {
    const command: string[] = adapter.readinessProbe.exec.command;

    expect(adapter.readinessProbe.httpGet).toBeUndefined();
    expect(command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(command[2]).toContain('web3_clientVersion');
    expect(command).toContain('http://127.0.0.1:8545/');
  });

  test('readiness timeout exceeds the upstream timeout', () => {
    const command: string[] = adapter.readinessProbe.exec.command;
    const curlMaxTime = Number(command[command.length - 1]);

    expect(curlMaxTime).toBeGreaterThan(15);
    expect(adapter.readinessProbe.timeoutSeconds).toBeGreaterThan(curlMaxTime);
  });

  test('liveness does not call the upstream', () => {
    const command: string[] = adapter.livenessProbe.exec.command;

    expect(command[2]).not.toContain('jsonrpc');
    expect(command[2]).not.toContain('--data');
    expect(command).toContain('http://127.0.0.1:8545/');
  });

  test('waits for server A and server B in init containers', () => {
    const names = spec.initContainers.map((c: any) => c.name);

    expect(names).toEqual(['wait-for-server-a', 'wait-for-server-b']);
    const waitA = objects.container(DEPLOYMENT, 'wait-for-server-a');
    expect(waitA.command).toContain('http://morphogen-server-a.morphogen-unit-server-a.svc.cluster.local:3000');
    expect(waitA.image).toBe(ADAPTER_IMAGE);
    expect(waitA.imagePullPolicy).toBe('IfNotPresent');
  });

  test('init containers set resources and no probes', () => {
    for (const init of spec.initContainers) {
      expect(init.resources.requests).toEqual({ cpu: '10m', memory: '16Mi' });
      expect(init.resources.limits).toEqual({ cpu: '100m', memory: '64Mi' });
      expect(init.readinessProbe).toBeUndefined();
      expect(init.restartPolicy).toBeUndefined();
    }
  });

  test('forwarder listens on the pod IP and proxies to loopback', () => {
    const configMap = objects.find('ConfigMap', DEPLOYMENT);

    expect(forwarder.ports).toEqual([{ name: 'json-rpc', containerPort: 8080, protocol: 'TCP' }]);
    expect(configMap.data['nginx.conf']).toContain('listen 8080;');
    expect(configMap.data['nginx.conf']).toContain('proxy_pass http://127.0.0.1:8545;');
    expect(forwarder.image).toBe('nginx@sha256:65645c7bb6a0661892a8b03b89d0743208a18dd2f3f17a54ef4b76fb8e2f2a10');
    expect(forwarder.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(forwarder.securityContext.runAsNonRoot).toBe(true);
  });

  test('Service targets the forwarder port', () => {
    const service = objects.find('Service', DEPLOYMENT);

    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'json-rpc', port: 8545, targetPort: 'json-rpc', protocol: 'TCP' }]);
  });

  test('exposes outside the cluster only when asked', () => {
    const exposed = new Objects(configOf((input) => {
      input.adapter.service = { type: 'LoadBalancer', loadBalancerSourceRanges: ['203.0.113.0/24'] };
    })).find('Service', DEPLOYMENT);

    expect(exposed.spec.type).toBe('LoadBalancer');
    expect(exposed.spec.loadBalancerSourceRanges).toEqual(['203.0.113.0/24']);
  });

  test('two replicas spread across nodes with a PodDisruptionBudget', () => {
    const pdb = objects.find('PodDisruptionBudget', DEPLOYMENT);

    expect(objects.find('Deployment', DEPLOYMENT).spec.replicas).toBe(2);
    expect(spec.topologySpreadConstraints[0].topologyKey).toBe('kubernetes.io/hostname');
    expect(pdb.spec.maxUnavailable).toBe(1);
    expect(pdb.spec.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
    expect(pdb.spec.selector.matchLabels).toEqual(objects.find('Deployment', DEPLOYMENT).spec.selector.matchLabels);
  });

  test('one replica has no PodDisruptionBudget', () => {
    const single = new Objects(configOf((input) => (input.adapter.replicas = 1)));

    expect(single.ofKind('PodDisruptionBudget')).toEqual([]);
  });

  test('pins the adapter image', () => {
    expect(adapter.image).toBe(ADAPTER_IMAGE);
  });

  test('output has no upstream URL when it comes from a Secret', () => {
    const text = JSON.stringify(synthesizeManifests(config));

    expect(text).not.toContain('UPSTREAM_RPC_URL","value"');
  });
});
