import { chmodSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../lib/config/load';
import { claimSize, startupBudgetSeconds, verifyBudgetSeconds } from '../lib/constructs/server-instance';
import { configOf, envOf, minimalInput, Objects } from './support/fixtures';
import { runCommand, withArgument } from './support/run-command';

const SHA = 'a'.repeat(64);

describe('GPU mode', () => {
  const objects = new Objects(configOf((input) => {
    input.servers.a.gpu = { count: 2, runtimeClassName: 'nvidia', device: 1, preload: false, streams: 4, batchPolicy: 'throughput' };
  }));
  const spec = objects.podSpec('morphogen-server-a');
  const server = objects.container('morphogen-server-a', 'morphogen-server');

  test('requests the GPUs as a limit', () => {
    expect(server.resources.limits['nvidia.com/gpu']).toBe(2);
  });

  test('schedules onto GPU nodes', () => {
    expect(spec.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(spec.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(spec.runtimeClassName).toBe('nvidia');
  });

  test('sets the GPU variables', () => {
    expect(envOf(server, 'MORPHOGEN_SERVER_GPU_DEVICE').value).toBe('1');
    expect(envOf(server, 'MORPHOGEN_SERVER_GPU_PRELOAD').value).toBe('false');
    expect(envOf(server, 'MORPHOGEN_GPU_STREAMS').value).toBe('4');
    expect(envOf(server, 'MORPHOGEN_GPU_BATCH_POLICY').value).toBe('throughput');
  });

  test('keeps host memory for the whole matrix', () => {
    expect(server.resources.limits.memory).toBe(`${14 * 1024}Mi`);
  });

  test('CPU mode is the default', () => {
    const cpu = objects.container('morphogen-server-b', 'morphogen-server');

    expect(Object.keys(cpu.resources.limits).sort()).toEqual(['cpu', 'memory']);
    expect(envOf(cpu, 'MORPHOGEN_SERVER_GPU_DEVICE')).toBeUndefined();
    expect(objects.podSpec('morphogen-server-b').nodeSelector).toBeUndefined();
  });

  test.each([
    ['streams above 8', { streams: 9 }, 'servers.a.gpu.streams'],
    ['streams of 0', { streams: 0 }, 'servers.a.gpu.streams'],
    ['unknown batch policy', { batchPolicy: 'fastest' }, 'servers.a.gpu.batchPolicy'],
    ['negative device', { device: -1 }, 'servers.a.gpu.device'],
    ['zero GPUs', { count: 0 }, 'servers.a.gpu.count'],
  ])('rejects %s', (_name, gpu, path) => {
    expect(() => parseConfig(minimalInput((input) => (input.servers.a.gpu = gpu)))).toThrow(path);
  });
});

describe('placement', () => {
  const objects = new Objects(configOf((input) => {
    input.servers.a.nodeSelector = { 'node.example.com/pool': 'pir' };
    input.servers.a.tolerations = [{ key: 'dedicated', operator: 'Equal', value: 'pir', effect: 'NoSchedule' }];
    input.servers.a.nodeAffinity = [{ key: 'node.example.com/memory-gib', operator: 'Gt', values: ['128'] }];
    input.servers.a.priorityClassName = 'morphogen-critical';
  }));
  const spec = objects.podSpec('morphogen-server-a');

  test('applies node selector and tolerations', () => {
    expect(spec.nodeSelector).toEqual({ 'node.example.com/pool': 'pir' });
    expect(spec.tolerations).toEqual([{ key: 'dedicated', operator: 'Equal', value: 'pir', effect: 'NoSchedule' }]);
  });

  test('requires the node affinity terms', () => {
    expect(spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'node.example.com/memory-gib', operator: 'Gt', values: ['128'] }] },
    ]);
  });

  test('sets the priority class', () => {
    expect(spec.priorityClassName).toBe('morphogen-critical');
  });

  test.each([
    ['Exists with a value', (i: any) => (i.servers.a.tolerations = [{ key: 'k', operator: 'Exists', value: 'v' }]), 'servers.a.tolerations.0.value'],
    ['In without values', (i: any) => (i.servers.a.nodeAffinity = [{ key: 'k', operator: 'In' }]), 'servers.a.nodeAffinity.0.values'],
    ['Gt with a word', (i: any) => (i.servers.a.nodeAffinity = [{ key: 'k', operator: 'Gt', values: ['many'] }]), 'servers.a.nodeAffinity.0.values'],
  ])('rejects %s', (_name, patch, path) => {
    expect(() => parseConfig(minimalInput(patch))).toThrow(path);
  });
});

describe('storage', () => {
  test('existing claim is the default and creates no claim', () => {
    expect(new Objects(configOf()).ofKind('PersistentVolumeClaim')).toEqual([]);
  });

  test('created claim is sized from the matrix', () => {
    const config = configOf((input) => (input.servers.a.matrix.createClaim = { storageClassName: 'fast' }));
    const claim = new Objects(config).find('PersistentVolumeClaim', 'matrix-a');

    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: `${Math.ceil(10 * 1024 * 1.1)}Mi` } } });
    expect(claim.metadata.namespace).toBe('morphogen-unit-server-a');
    expect(claim.metadata.annotations['argocd.argoproj.io/sync-options']).toBe('Prune=false,Delete=false');
    expect(claimSize(config.servers.a)).toBe(`${Math.ceil(10 * 1024 * 1.1)}Mi`);
  });

  test('local volume binds the named PersistentVolume', () => {
    const claim = new Objects(configOf((input) => {
      input.servers.b.matrix.createClaim = { storageClassName: '', volumeName: 'node-7-matrix-b', size: '80Gi' };
    })).find('PersistentVolumeClaim', 'matrix-b');

    expect(claim.spec.volumeName).toBe('node-7-matrix-b');
    expect(claim.spec.storageClassName).toBe('');
    expect(claim.spec.resources.requests.storage).toBe('80Gi');
  });

  test('read-only-many claim serves several replicas', () => {
    const claim = new Objects(configOf((input) => {
      input.servers.a.replicas = 2;
      input.servers.a.matrix.accessMode = 'ReadOnlyMany';
      input.servers.a.matrix.createClaim = { storageClassName: 'shared' };
    })).find('PersistentVolumeClaim', 'matrix-a');

    expect(claim.spec.accessModes).toEqual(['ReadOnlyMany']);
  });

  test('claim smaller than the matrix is rejected', () => {
    expect(() => parseConfig(minimalInput((i) => (i.servers.a.matrix.createClaim = { storageClassName: 'x', size: '5Gi' })))).toThrow('servers.a.matrix.createClaim.size');
  });
});

describe('snapshot verification', () => {
  const config = configOf((input) => {
    input.servers.a.matrix.sha256 = SHA;
    input.servers.a.matrix.assumedHashRate = '100Mi/s';
  });
  const objects = new Objects(config);
  const init = objects.container('morphogen-server-a', 'verify-matrix');

  test('init container runs before the server with the pinned image', () => {
    const spec = objects.podSpec('morphogen-server-a');

    expect(spec.initContainers.map((c: any) => c.name)).toEqual(['verify-matrix']);
    expect(init.image).toBe(objects.container('morphogen-server-a', 'morphogen-server').image);
    expect(init.command).toContain('/var/lib/morphogen/matrix.bin');
    expect(init.command).toContain(SHA);
  });

  test('reads the matrix read-only', () => {
    expect(init.volumeMounts).toContainEqual({ name: 'matrix', mountPath: '/var/lib/morphogen', readOnly: true });
    expect(init.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  test('budget is part of the rollout deadline', () => {
    const deployment = objects.find('Deployment', 'morphogen-server-a');

    expect(verifyBudgetSeconds(config.servers.a)).toBe(Math.ceil(2 * 102.4) + 60);
    expect(deployment.spec.progressDeadlineSeconds).toBe(verifyBudgetSeconds(config.servers.a) + startupBudgetSeconds(config.servers.a) + 600);
    expect(init.command).toContain(String(verifyBudgetSeconds(config.servers.a)));
  });

  test('no checksum, no init container', () => {
    expect(objects.podSpec('morphogen-server-b').initContainers).toBeUndefined();
  });

  test('rejects a malformed checksum', () => {
    expect(() => parseConfig(minimalInput((i) => (i.servers.a.matrix.sha256 = 'ABC')))).toThrow('servers.a.matrix.sha256');
  });
});

describe('verify-matrix command', () => {
  const init = new Objects(configOf((input) => (input.servers.a.matrix.sha256 = SHA))).container('morphogen-server-a', 'verify-matrix');
  const manifestFile = '/var/lib/morphogen/matrix.bin';
  let directory: string;
  let file: string;

  const commandFor = (path: string, expected: string, deadline?: number, every?: number) => {
    let command = withArgument(withArgument(init.command, manifestFile, path), SHA, expected);
    if (deadline !== undefined) {
      command = [...command.slice(0, 6), String(deadline), String(every ?? 1)];
    }
    return command;
  };

  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'matrix-'));
    file = join(directory, 'matrix.bin');
  });

  afterEach(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  test('passes on a matching file', async () => {
    writeFileSync(file, 'matrix rows');
    const digest = createHash('sha256').update('matrix rows').digest('hex');

    const result = await runCommand(commandFor(file, digest));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`matrix checksum verified: ${digest}`);
  });

  test('fails on a mismatch naming both digests', async () => {
    writeFileSync(file, 'matrix rows');
    const actual = createHash('sha256').update('matrix rows').digest('hex');

    const result = await runCommand(commandFor(file, SHA));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`expected ${SHA}, actual ${actual}`);
  });

  test('follows a symlinked matrix file', async () => {
    writeFileSync(file, 'matrix rows');
    const link = join(directory, 'current.bin');
    symlinkSync(file, link);
    const digest = createHash('sha256').update('matrix rows').digest('hex');

    const result = await runCommand(commandFor(link, digest));

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`verifying sha256 of ${file} (11 bytes`);
  });

  test('fails on a missing file', async () => {
    const result = await runCommand(commandFor(file, SHA));

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`matrix file ${file} not found`);
  });

  test('fails on an unreadable file', async () => {
    // Root reads any file, so as root the command runs as the unprivileged uid 65534.
    writeFileSync(file, 'matrix rows');
    chmodSync(file, 0o000);
    chmodSync(directory, 0o755);
    const command = commandFor(file, SHA);

    const result = await runCommand(process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command] : command);

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is not readable');
  });

  test('logs progress and stops at its bound', async () => {
    // sha256sum hashes at most a few GB/s, so a sparse 40 GiB file keeps it
    // busy far longer than the 3 s bound while taking no disk space.
    writeFileSync(file, '');
    truncateSync(file, 40 * 1024 ** 3);

    const result = await runCommand(commandFor(file, SHA, 3, 1));

    expect(result.code).toBe(1);
    expect(result.elapsedMs).toBeLessThan(8000);
    expect(result.stdout).toMatch(/read [1-9][0-9]* of 42949672960 bytes after \ds/);
    expect(result.stderr).toContain('did not finish within 3s');
  });
});
