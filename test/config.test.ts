import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '../lib/config/load';
import { EXAMPLE_CONFIG, minimalInput } from './support/fixtures';

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration defaults', () => {
  const config = parseConfig(minimalInput());

  test('server binds to all interfaces on port 3000', () => {
    expect(config.servers.a.bindAddress).toBe('0.0.0.0:3000');
  });

  test('matrix lives in /var/lib/morphogen', () => {
    expect(config.servers.a.matrix.file).toBe('/var/lib/morphogen/matrix.bin');
  });

  test('adapter is exposed only inside the cluster', () => {
    expect(config.adapter.service.type).toBe('ClusterIP');
  });

  test('fallback to upstream is off', () => {
    expect(config.adapter.fallbackToUpstream).toBe(false);
  });

  test('parsed configuration is frozen', () => {
    expect(Object.isFrozen(config.servers.a.matrix)).toBe(true);
  });
});

describe('environment overrides', () => {
  test('CI can inject image digests', () => {
    const server = 'ghcr.io/example-org/morphogen-server@sha256:' + 'c'.repeat(64);
    const adapter = 'ghcr.io/example-org/morphogen-rpc-adapter@sha256:' + 'd'.repeat(64);

    const config = loadConfigFile(EXAMPLE_CONFIG, { MORPHOGEN_SERVER_IMAGE: server, MORPHOGEN_RPC_ADAPTER_IMAGE: adapter });

    expect(config.images.server).toBe(server);
    expect(config.images.adapter).toBe(adapter);
  });

  test('per-server variables map to each instance', () => {
    const config = parseConfig(minimalInput(), {
      MORPHOGEN_SERVER_A_ENV: 'test',
      MORPHOGEN_SERVER_B_BIND_ADDR: '0.0.0.0:4000',
      MORPHOGEN_SERVER_A_MATRIX_FILE: '/var/lib/morphogen/snapshot.bin',
      MORPHOGEN_SERVER_B_MAX_CONCURRENT_SCANS: '24',
      MORPHOGEN_SERVER_B_MERGE_INTERVAL_MS: '1500',
    });

    expect(config.servers.a.environment).toBe('test');
    expect(config.servers.b.bindAddress).toBe('0.0.0.0:4000');
    expect(config.servers.a.matrix.file).toBe('/var/lib/morphogen/snapshot.bin');
    expect(config.servers.b.maxConcurrentScans).toBe(24);
    expect(config.servers.b.mergeInterval).toBe('1500ms');
    expect(config.servers.a.maxConcurrentScans).toBe(32);
  });

  test('URLs override the file', () => {
    const config = parseConfig(minimalInput(), {
      DICT_URL: 'https://cdn.example.org/mainnet_compact.dict',
      CAS_URL: 'https://cdn.example.org/cas',
    });

    expect(config.adapter.dictUrl).toBe('https://cdn.example.org/mainnet_compact.dict');
    expect(config.adapter.casUrl).toBe('https://cdn.example.org/cas');
  });

  test('upstream URL never overrides the Secret', () => {
    const config = parseConfig(minimalInput(), { UPSTREAM_RPC_URL: 'https://rpc.example.org/v2/key-in-path' });

    expect(config.adapter.upstreamRpc).toEqual({ secretKeyRef: { name: 'upstream', key: 'url' } });
  });

  test('empty variables are ignored', () => {
    const config = parseConfig(minimalInput(), { MORPHOGEN_SERVER_IMAGE: '' });

    expect(config.images.server).toBe(minimalInput().images.server);
  });

  test('RPC_BIND_HOST may only name loopback', () => {
    expect(parseConfig(minimalInput(), { RPC_BIND_HOST: '127.0.0.1' }).adapter.port).toBe(8545);
    expect(problemsOf(() => parseConfig(minimalInput(), { RPC_BIND_HOST: '0.0.0.0' }))).toEqual([
      'RPC_BIND_HOST: "0.0.0.0" cannot be honoured, because morphogen-rpc-adapter listens on 127.0.0.1 only; unset it, the forwarder sidecar publishes the adapter on the pod IP',
    ]);
  });

  test('a bad override is reported like a bad field', () => {
    const problems = problemsOf(() => parseConfig(minimalInput(), { MORPHOGEN_SERVER_A_MAX_CONCURRENT_SCANS: 'many' }));

    expect(problems).toEqual([expect.stringMatching(/^servers\.a\.maxConcurrentScans: /)]);
  });
});

describe('configuration errors', () => {
  test('A and B cannot share a PRG key Secret', () => {
    const problems = problemsOf(() => parseConfig(minimalInput((input) => {
      input.isolation = { separateNamespaces: false };
      input.servers.b.prgKeys.secretName = 'prg-a';
    })));

    expect(problems).toEqual([
      'servers.b.prgKeys.secretName: must differ from servers.a.prgKeys.secretName ("prg-a"); A and B need separate PRG keys for PIR privacy',
    ]);
  });

  test('A and B may reuse a Secret name in separate namespaces', () => {
    const config = parseConfig(minimalInput((input) => (input.servers.b.prgKeys.secretName = 'prg-a')));

    expect(config.servers.b.prgKeys.secretName).toBe('prg-a');
  });

  test('loopback bind address is rejected', () => {
    const problems = problemsOf(() => parseConfig(minimalInput((input) => (input.servers.a.bindAddress = '127.0.0.1:3000'))));

    expect(problems[0]).toMatch(/^servers\.a\.bindAddress: "127\.0\.0\.1:3000" is loopback/);
  });

  test('unknown key suggests the closest valid key', () => {
    const problems = problemsOf(() => parseConfig(minimalInput((input) => (input.servers.a.maxConcurentScans = 8))));

    expect(problems).toEqual(['servers.a.maxConcurentScans: unknown key; did you mean "maxConcurrentScans"?']);
  });

  test('every problem is reported at once', () => {
    const problems = problemsOf(() => parseConfig(minimalInput((input) => {
      input.servers.a.bindAddress = '127.0.0.1:3000';
      input.servers.b.maxConcurrentScans = 0;
      delete input.namespace;
    })));

    expect(problems).toHaveLength(3);
  });

  test('invalid YAML names the file and line', () => {
    const directory = mkdtempSync(join(tmpdir(), 'config-'));
    const file = join(directory, 'broken.yaml');
    writeFileSync(file, 'name: broken\nservers:\n  a: [unclosed\n');

    try {
      const problems = problemsOf(() => loadConfigFile(file));

      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(new RegExp(`^${file}:\\d+: invalid YAML`));
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test('missing file names the path', () => {
    expect(problemsOf(() => loadConfigFile('/nonexistent/env.yaml'))[0]).toMatch(/^\/nonexistent\/env\.yaml: cannot read the file \(ENOENT\)/);
  });
});
