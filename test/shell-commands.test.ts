import { mkdirSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CODE_DATA_ROOT } from '../lib/constructs/code-data';
import { configOf, Objects } from './support/fixtures';
import { EPOCH_OK, HEALTH_OK, MockServer, closedPort } from './support/mock-server';
import { runCommand, withArgument } from './support/run-command';

// Short bounds so failing waits finish in seconds: 1 s per request, 1 s
// between attempts, 4 s overall.
const ATTEMPT_SECONDS = 1;
const TIMEOUT_SECONDS = 4;
const config = configOf((input) => {
  input.adapter.upstreamTimeout = '1s';
  input.adapter.wait = { attemptTimeout: `${ATTEMPT_SECONDS}s`, interval: '1s', timeout: `${TIMEOUT_SECONDS}s` };
  input.codeData = { enabled: true, claimName: 'code-data' };
  delete input.adapter.dictUrl;
  delete input.adapter.casUrl;
});
const objects = new Objects(config);
const adapter = objects.container('morphogen-rpc-adapter', 'rpc-adapter');
const waitForServerA = objects.container('morphogen-rpc-adapter', 'wait-for-server-a').command as string[];
const waitForCodeData = objects.container('morphogen-rpc-adapter', 'wait-for-code-data').command as string[];
const serverAUrl = 'http://morphogen-server-a.morphogen-unit-server-a.svc.cluster.local:3000';
const dictionaryUrl = 'http://morphogen-code-data.morphogen-unit.svc.cluster.local/mainnet_compact.dict';
const readiness = adapter.readinessProbe.exec.command as string[];
const liveness = adapter.livenessProbe.exec.command as string[];

// A failing wait may run one more attempt (two requests) after the deadline
// check, plus process start-up.
const WAIT_BOUND_MS = (TIMEOUT_SECONDS + 2 * ATTEMPT_SECONDS + 2) * 1000;

let mock: MockServer;

beforeEach(async () => {
  mock = await new MockServer().start();
});

afterEach(async () => {
  await mock.stop();
});

describe('wait-for-server command', () => {
  const run = (url: string) => runCommand(withArgument(waitForServerA, serverAUrl, url));

  test('passes when /health is ok and /epoch has rows', async () => {
    mock.routes = { '/health': { body: HEALTH_OK }, '/epoch': { body: EPOCH_OK } };

    const result = await run(mock.url);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('server-a is ready');
  });

  test('accepts pretty-printed JSON', async () => {
    mock.routes = {
      '/health': { body: JSON.stringify(JSON.parse(HEALTH_OK), null, 2) },
      '/epoch': { body: JSON.stringify(JSON.parse(EPOCH_OK), null, 2) },
    };

    const result = await run(mock.url);

    expect(result.code).toBe(0);
  });

  test('fails within its bound when status is not ok', async () => {
    mock.routes = { '/health': { body: '{"status":"loading","epoch_id":0,"block_number":0}' }, '/epoch': { body: EPOCH_OK } };

    const result = await run(mock.url);

    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(WAIT_BOUND_MS);
    expect(result.stderr).toContain('gave up waiting for server-a');
    expect(result.stderr).toContain('/health status is not ok');
    expect(result.stdout).toContain('server-a not ready');
  });

  test('fails within its bound when the port is closed', async () => {
    const port = await closedPort();

    const result = await run(`http://127.0.0.1:${port}`);

    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(WAIT_BOUND_MS);
    expect(result.stderr).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/health failed/);
  });

  test('fails when /epoch has no rows', async () => {
    mock.routes = { '/health': { body: HEALTH_OK }, '/epoch': { body: '{"epoch_id":42,"num_rows":0,"seeds":[1,2,3]}' } };

    const result = await run(mock.url);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/epoch reports no rows');
  });

  test('fails when /epoch is empty', async () => {
    mock.routes = { '/health': { body: HEALTH_OK }, '/epoch': { body: '{}' } };

    const result = await run(mock.url);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/epoch returned no epoch_id');
  });

  test('fails when /epoch answers an HTTP error', async () => {
    mock.routes = { '/health': { body: HEALTH_OK }, '/epoch': { status: 503, body: 'unavailable' } };

    const result = await run(mock.url);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('/epoch failed');
  });

  test('fails within its bound when /health hangs', async () => {
    mock.routes = { '/health': { body: HEALTH_OK, delayMs: 30_000 }, '/epoch': { body: EPOCH_OK } };

    const result = await run(mock.url);

    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(WAIT_BOUND_MS);
    expect(result.stderr).toMatch(/timed out/i);
  });

  test('keeps waiting until the server becomes healthy', async () => {
    mock.routes = { '/health': { status: 503, body: '{"status":"starting"}' }, '/epoch': { body: EPOCH_OK } };
    setTimeout(() => (mock.routes['/health'] = { body: HEALTH_OK }), 1500);

    const result = await run(mock.url);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('server-a not ready');
    expect(result.stdout).toContain('server-a is ready');
  });

  test('never logs the /epoch body', async () => {
    mock.routes = { '/health': { body: HEALTH_OK }, '/epoch': { body: '{"page_pir":{"prg_keys":["0xfeedface"]}}' } };

    const result = await run(mock.url);

    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toContain('feedface');
  });
});

describe('wait-for-code-data command', () => {
  const run = (url: string) => runCommand(withArgument(waitForCodeData, dictionaryUrl, url));

  test('passes when the dictionary is non-empty', async () => {
    mock.routes = { '/mainnet_compact.dict': { body: 'dictionary-bytes' } };

    const result = await run(`${mock.url}/mainnet_compact.dict`);

    expect(result.code).toBe(0);
    expect(mock.requests.every((request) => request.method === 'HEAD')).toBe(true);
  });

  test('fails when the dictionary is empty', async () => {
    mock.routes = { '/mainnet_compact.dict': { body: '' } };

    const result = await run(`${mock.url}/mainnet_compact.dict`);

    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(WAIT_BOUND_MS);
    expect(result.stderr).toContain('dictionary is empty');
  });

  test('fails when the dictionary is missing', async () => {
    const result = await run(`${mock.url}/mainnet_compact.dict`);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('404');
  });
});

describe('adapter readiness command', () => {
  const loopback = 'http://127.0.0.1:8545/';
  const run = (url: string) => runCommand(withArgument(readiness, loopback, url));

  test('passes on a JSON-RPC result', async () => {
    mock.routes = { '/': { body: '{"jsonrpc":"2.0","id":1,"result":"morphogen/v0.1.0"}' } };

    const result = await run(`${mock.url}/`);

    expect(result.code).toBe(0);
    expect(JSON.parse(mock.requests[0].body)).toEqual({ jsonrpc: '2.0', id: 1, method: 'web3_clientVersion', params: [] });
  });

  test('fails on a JSON-RPC error', async () => {
    mock.routes = { '/': { body: '{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"upstream unavailable","data":{"result":null}}}' } };

    const result = await run(`${mock.url}/`);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('web3_clientVersion returned no result');
  });

  test('fails when the port is closed', async () => {
    const port = await closedPort();

    const result = await run(`http://127.0.0.1:${port}/`);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('failed');
  });

  test('fails before the probe timeout when upstream is slow', async () => {
    mock.routes = { '/': { body: '{"jsonrpc":"2.0","id":1,"result":"late"}', delayMs: 30_000 } };

    const result = await run(`${mock.url}/`);

    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(adapter.readinessProbe.timeoutSeconds * 1000);
  });
});

describe('adapter liveness command', () => {
  const loopback = 'http://127.0.0.1:8545/';
  const run = (url: string) => runCommand(withArgument(liveness, loopback, url));

  test('passes on any HTTP answer without a JSON-RPC call', async () => {
    mock.routes = { '/': { status: 405, body: 'method not allowed' } };

    const result = await run(`${mock.url}/`);

    expect(result.code).toBe(0);
    expect(mock.requests.map((request) => request.method)).toEqual(['GET']);
  });

  test('fails when the port is closed', async () => {
    const port = await closedPort();

    const result = await run(`http://127.0.0.1:${port}/`);

    expect(result.code).toBe(1);
  });
});

describe('code-data readiness command', () => {
  const nginx = objects.container('morphogen-code-data', 'nginx');
  const command = nginx.readinessProbe.exec.command as string[];
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'code-data-'));
  });

  afterEach(() => {
    chmodSync(root, 0o755);
    rmSync(root, { recursive: true, force: true });
  });

  const run = () => runCommand(withArgument(command, CODE_DATA_ROOT, root));

  test('passes with a dictionary and a cas entry', async () => {
    writeFileSync(join(root, 'mainnet_compact.dict'), 'dictionary');
    mkdirSync(join(root, 'cas', 'aa', 'bb'), { recursive: true });
    writeFileSync(join(root, 'cas', 'aa', 'bb', 'aabb01.bin'), 'code');

    expect((await run()).code).toBe(0);
  });

  test('fails with an empty dictionary', async () => {
    writeFileSync(join(root, 'mainnet_compact.dict'), '');
    mkdirSync(join(root, 'cas', 'aa'), { recursive: true });

    const result = await run();

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('missing or empty');
  });

  test('fails with an empty cas directory', async () => {
    writeFileSync(join(root, 'mainnet_compact.dict'), 'dictionary');
    mkdirSync(join(root, 'cas'));

    const result = await run();

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cas has no entries');
  });

  test('fails without a cas directory', async () => {
    writeFileSync(join(root, 'mainnet_compact.dict'), 'dictionary');

    expect((await run()).code).toBe(1);
  });
});
