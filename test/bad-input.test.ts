import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EXIT_INVALID_INPUT, runSynth } from '../lib/cli';
import { minimalInput } from './support/fixtures';

const KEY_VALUE = '0x5f3c9a1be7d24c6a8f0e1d2c3b4a5968';
const TOKEN_VALUE = 'tok-7b1e2d9c4a6f8e0b3c5d7a9e1f2b4c6d';

type Patch = (input: Record<string, any>) => void;

/** One bad input: a change to a valid config (or environment), and the path the message must name. */
interface Case {
  readonly name: string;
  readonly patch?: Patch;
  readonly env?: Record<string, string>;
  readonly yaml?: string;
  readonly path: string;
}

const cases: Case[] = [
  // Images
  { name: 'server image with latest tag', path: 'images.server', patch: (i) => (i.images.server = 'ghcr.io/example-org/morphogen-server:latest') },
  { name: 'adapter image tag only in prod', path: 'images.adapter', patch: (i) => (i.images.adapter = 'ghcr.io/example-org/morphogen-rpc-adapter:v1.2.3') },
  { name: 'nginx image tag only in prod', path: 'images.nginx', patch: (i) => (i.images.nginx = 'nginx:1.27-alpine') },
  { name: 'digest one character too long', path: 'images.server', patch: (i) => (i.images.server = 'ghcr.io/x/server@sha256:' + 'a'.repeat(65)) },
  { name: 'digest with uppercase hex', path: 'images.server', patch: (i) => (i.images.server = 'ghcr.io/x/server@sha256:' + 'A'.repeat(64)) },
  { name: 'digest of another algorithm', path: 'images.adapter', patch: (i) => (i.images.adapter = 'ghcr.io/x/adapter@sha512:' + 'a'.repeat(64)) },
  { name: 'image without repository', path: 'images.server', patch: (i) => (i.images.server = '@sha256:' + 'a'.repeat(64)) },
  { name: 'latest tag even in dev', path: 'images.server', patch: (i) => { i.profile = 'dev'; i.images.server = 'ghcr.io/x/server:latest'; } },
  // URLs
  { name: 'relative dictionary URL', path: 'adapter.dictUrl', patch: (i) => (i.adapter.dictUrl = '/mainnet_compact.dict') },
  { name: 'ftp CAS URL', path: 'adapter.casUrl', patch: (i) => (i.adapter.casUrl = 'ftp://code.example.net/cas') },
  { name: 'plain http dictionary in prod', path: 'adapter.dictUrl', patch: (i) => (i.adapter.dictUrl = 'http://code.example.net/mainnet_compact.dict') },
  { name: 'plain http upstream in prod', path: 'adapter.upstreamRpc.url', patch: (i) => (i.adapter.upstreamRpc = { url: 'http://eth.example.net/v2/abcdef' }) },
  { name: 'plain http tx relay in prod', path: 'adapter.txRelayUrl', patch: (i) => (i.adapter.txRelayUrl = 'http://relay.example.net') },
  { name: 'malformed OTLP endpoint', path: 'adapter.otel.endpoint', patch: (i) => (i.adapter.otel = { endpoint: 'collector:4317' }) },
  { name: 'missing dictionary URL without code-data', path: 'adapter.dictUrl', patch: (i) => delete i.adapter.dictUrl },
  { name: 'code-data without claim', path: 'codeData.claimName', patch: (i) => (i.codeData = { enabled: true }) },
  // Keys
  { name: 'A and B share a PRG key Secret', path: 'servers.b.prgKeys.secretName', patch: (i) => { i.isolation = { separateNamespaces: false }; i.servers.b.prgKeys.secretName = 'prg-a'; } },
  { name: 'A and B forced into one namespace', path: 'servers.b.namespace', patch: (i) => { i.isolation = { separateNamespaces: true }; i.servers.a.namespace = 'pir'; i.servers.b.namespace = 'pir'; } },
  { name: 'derived server namespace too long', path: 'servers.a.namespace', patch: (i) => (i.namespace = 'n'.repeat(60)) },
  { name: 'egress rule without ports', path: 'adapter.egress.0.ports', patch: (i) => (i.adapter.egress = [{ cidr: '0.0.0.0/0', ports: [] }]) },
  { name: 'client with cidr and selectors', path: 'adapter.clients.0', patch: (i) => (i.adapter.clients = [{ cidr: '10.0.0.0/8', podLabels: { app: 'x' } }]) },
  { name: 'PRG key name with a slash', path: 'servers.a.prgKeys.key0', patch: (i) => (i.servers.a.prgKeys.key0 = 'keys/0') },
  { name: 'Secret name with uppercase', path: 'servers.a.prgKeys.secretName', patch: (i) => (i.servers.a.prgKeys.secretName = 'PRG-A') },
  { name: 'PRG key in the environment', path: 'MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0', env: { MORPHOGEN_SERVER_A_PAGE_PRG_KEY_0: KEY_VALUE } },
  { name: 'unlettered PRG key in the environment', path: 'MORPHOGEN_SERVER_PAGE_PRG_KEY_1', env: { MORPHOGEN_SERVER_PAGE_PRG_KEY_1: KEY_VALUE } },
  { name: 'admin token in the environment', path: 'MORPHOGEN_ADMIN_BEARER_TOKEN', env: { MORPHOGEN_ADMIN_BEARER_TOKEN: TOKEN_VALUE } },
  // Server
  { name: 'loopback bind address', path: 'servers.a.bindAddress', patch: (i) => (i.servers.a.bindAddress = '127.0.0.1:3000') },
  { name: 'localhost bind address', path: 'servers.b.bindAddress', patch: (i) => (i.servers.b.bindAddress = 'localhost:3000') },
  { name: 'IPv6 loopback bind address', path: 'servers.a.bindAddress', patch: (i) => (i.servers.a.bindAddress = '[::1]:3000') },
  { name: 'bind address without port', path: 'servers.a.bindAddress', patch: (i) => (i.servers.a.bindAddress = '0.0.0.0') },
  { name: 'bind port out of range', path: 'servers.b.bindAddress', patch: (i) => (i.servers.b.bindAddress = '0.0.0.0:70000') },
  { name: 'loopback bind from the environment', path: 'servers.a.bindAddress', env: { MORPHOGEN_SERVER_A_BIND_ADDR: '127.0.0.1:3000' } },
  { name: 'zero max concurrent scans', path: 'servers.a.maxConcurrentScans', patch: (i) => (i.servers.a.maxConcurrentScans = 0) },
  { name: 'fractional max concurrent scans', path: 'servers.b.maxConcurrentScans', patch: (i) => (i.servers.b.maxConcurrentScans = 2.5) },
  { name: 'negative scans from the environment', path: 'servers.b.maxConcurrentScans', env: { MORPHOGEN_SERVER_B_MAX_CONCURRENT_SCANS: '-4' } },
  { name: 'zero merge interval', path: 'servers.a.mergeInterval', patch: (i) => (i.servers.a.mergeInterval = '0ms') },
  { name: 'merge interval without unit', path: 'servers.a.mergeInterval', patch: (i) => (i.servers.a.mergeInterval = 1000) },
  { name: 'non-numeric merge interval from the environment', path: 'servers.b.mergeInterval', env: { MORPHOGEN_SERVER_B_MERGE_INTERVAL_MS: 'soon' } },
  { name: 'matrix outside the data directory', path: 'servers.a.matrix.file', patch: (i) => (i.servers.a.matrix.file = '/data/matrix.bin') },
  { name: 'matrix size without unit suffix pattern', path: 'servers.a.matrix.size', patch: (i) => (i.servers.a.matrix.size = '75 GB') },
  { name: 'two replicas on ReadWriteOnce', path: 'servers.b.replicas', patch: (i) => (i.servers.b.replicas = 2) },
  { name: 'memory below the matrix size', path: 'servers.a.resources.memory', patch: (i) => (i.servers.a.resources = { memory: '8Gi' }) },
  { name: 'server environment unknown', path: 'servers.a.environment', patch: (i) => (i.servers.a.environment = 'staging') },
  { name: 'environment profile unknown', path: 'profile', patch: (i) => (i.profile = 'production-eu') },
  { name: 'environment override unknown', path: 'servers.b.environment', env: { MORPHOGEN_SERVER_B_ENV: 'qa' } },
  // Adapter
  { name: 'fallback without acknowledgement in prod', path: 'adapter.fallbackToUpstream', patch: (i) => (i.adapter.fallbackToUpstream = true) },
  { name: 'zero refresh interval', path: 'adapter.refreshInterval', patch: (i) => (i.adapter.refreshInterval = '0s') },
  { name: 'negative upstream timeout', path: 'adapter.upstreamTimeout', patch: (i) => (i.adapter.upstreamTimeout = '-5s') },
  { name: 'privileged adapter port', path: 'adapter.port', patch: (i) => (i.adapter.port = 80) },
  { name: 'adapter port out of range', path: 'adapter.port', patch: (i) => (i.adapter.port = 65536) },
  { name: 'service port zero', path: 'adapter.service.port', patch: (i) => (i.adapter.service = { port: 0 }) },
  { name: 'unknown service type', path: 'adapter.service.type', patch: (i) => (i.adapter.service = { type: 'Ingress' }) },
  { name: 'wait attempt longer than wait', path: 'adapter.wait.attemptTimeout', patch: (i) => (i.adapter.wait = { attemptTimeout: '30s', timeout: '10s' }) },
  { name: 'A and B share a namespace in prod by default', path: 'servers.b.namespace', patch: (i) => { i.servers.a.namespace = 'pir'; i.servers.b.namespace = 'pir'; } },
  { name: 'server in kube-system', path: 'servers.a.namespace', patch: (i) => (i.servers.a.namespace = 'kube-system') },
  { name: 'environment in default namespace', path: 'namespace', patch: (i) => (i.namespace = 'default') },
  { name: 'GPU resource named memory', path: 'servers.a.gpu.resourceName', patch: (i) => (i.servers.a.gpu = { resourceName: 'memory' }) },
  { name: 'GPU resource in kubernetes.io', path: 'servers.b.gpu.resourceName', patch: (i) => (i.servers.b.gpu = { resourceName: 'kubernetes.io/gpu' }) },
  { name: 'topology key with a space', path: 'isolation.topologyKey', patch: (i) => (i.isolation = { topologyKey: 'zone name/' }) },
  { name: 'scraper without namespace', path: 'metrics.scraper.namespaceLabels', patch: (i) => (i.metrics = { scraper: { podLabels: { app: 'prometheus' } } }) },
  { name: 'scraper selecting a server namespace', path: 'metrics.scraper.podLabels', patch: (i) => (i.metrics = { scraper: { namespaceLabels: { 'kubernetes.io/metadata.name': 'morphogen-unit-server-b' } } }) },
  { name: 'scraper selecting the stack pods', path: 'metrics.scraper.podLabels', patch: (i) => (i.metrics = { scraper: { namespaceLabels: { team: 'x' }, podLabels: { 'app.kubernetes.io/part-of': 'morphogen' } } }) },
  { name: 'DNS peer without namespace', path: 'networkPolicy.dns.namespaceLabels', patch: (i) => (i.networkPolicy = { dns: { podLabels: { 'k8s-app': 'kube-dns' } } }) },
  { name: 'forwarder on the adapter port', path: 'adapter.forwarderPort', patch: (i) => (i.adapter.forwarderPort = 8545) },
  { name: 'RPC_BIND_HOST beyond loopback', path: 'RPC_BIND_HOST', env: { RPC_BIND_HOST: '0.0.0.0' } },
  { name: 'upstream given two ways', path: 'adapter.upstreamRpc', patch: (i) => (i.adapter.upstreamRpc = { url: 'https://a.example', secretKeyRef: { name: 'x', key: 'y' } }) },
  // Names and structure
  { name: 'environment name with uppercase', path: 'name', patch: (i) => (i.name = 'Prod') },
  { name: 'namespace too long', path: 'namespace', patch: (i) => (i.namespace = 'n'.repeat(64)) },
  { name: 'server namespace with dots', path: 'servers.b.namespace', patch: (i) => (i.servers.b.namespace = 'morphogen.b') },
  { name: 'claim name with underscore', path: 'servers.a.matrix.claimName', patch: (i) => (i.servers.a.matrix.claimName = 'matrix_a') },
  { name: 'typo in a server key', path: 'servers.a.maxConcurentScans', patch: (i) => (i.servers.a.maxConcurentScans = 8) },
  { name: 'typo at the top level', path: 'namespce', patch: (i) => (i.namespce = 'x') },
  { name: 'missing namespace', path: 'namespace', patch: (i) => delete i.namespace },
  { name: 'missing server b', path: 'servers.b', patch: (i) => delete i.servers.b },
  { name: 'servers as a list', path: 'servers', patch: (i) => (i.servers = []) },
  { name: 'invalid YAML', path: 'invalid YAML', yaml: 'name: x\nservers: [a\n' },
];

describe('bad input', () => {
  let workdir: string;
  let outDir: string;
  let before: Record<string, string>;

  beforeAll(() => {
    workdir = mkdtempSync(join(tmpdir(), 'bad-input-'));
    outDir = join(workdir, 'dist');
    mkdirSync(join(outDir, 'unit'), { recursive: true });
    writeFileSync(join(outDir, 'unit', 'server-a.yaml'), 'previous output\n');
    before = snapshot(outDir);
  });

  afterAll(() => {
    rmSync(workdir, { recursive: true, force: true });
  });

  function snapshot(directory: string): Record<string, string> {
    const files: Record<string, string> = {};
    for (const entry of readdirSync(directory, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) {
        const path = join(entry.parentPath, entry.name);
        files[path] = readFileSync(path, 'utf8');
      }
    }
    return files;
  }

  test('corpus holds at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  test.each(cases)('$name', ({ patch, env, yaml, path }) => {
    // GIVEN
    const file = join(workdir, 'unit.yaml');
    writeFileSync(file, yaml ?? stringify(minimalInput(patch)));
    const errors: string[] = [];
    const output: string[] = [];

    // WHEN
    const code = runSynth(['--config', file, '--out', outDir], env ?? {}, { out: (l) => output.push(l), err: (l) => errors.push(l) });

    // THEN
    const text = [...errors, ...output].join('\n');
    expect(code).toBe(EXIT_INVALID_INPUT);
    expect(text).toContain(path);
    expect(text).not.toContain(KEY_VALUE);
    expect(text).not.toContain(KEY_VALUE.slice(2));
    expect(text).not.toContain(TOKEN_VALUE);
    expect(snapshot(outDir)).toEqual(before);
  });
});
