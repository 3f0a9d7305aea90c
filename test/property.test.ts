import fc from 'fast-check';
import { parseConfig } from '../lib/config/load';
import { renderEnvironment } from '../lib/output/render';
import { minimalInput } from './support/fixtures';

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/).filter((s) => !s.includes('--'));

const variant = fc.record({
  namespace: label,
  namespaceB: fc.option(label, { nil: undefined }),
  profile: fc.constantFrom('dev', 'test', 'prod', 'production'),
  sizeGi: fc.integer({ min: 1, max: 200 }),
  rateMi: fc.integer({ min: 10, max: 2000 }),
  scans: fc.integer({ min: 1, max: 512 }),
  mergeMs: fc.integer({ min: 1, max: 60_000 }),
  replicasB: fc.integer({ min: 1, max: 4 }),
  adapterReplicas: fc.integer({ min: 1, max: 5 }),
  port: fc.integer({ min: 1024, max: 65535 }),
  forwarderPort: fc.integer({ min: 1024, max: 65535 }),
  upstreamTimeoutS: fc.integer({ min: 1, max: 120 }),
  codeData: fc.boolean(),
  serviceType: fc.constantFrom('ClusterIP', 'NodePort', 'LoadBalancer'),
}).filter((v) => v.port !== v.forwarderPort);

type Variant = typeof variant extends fc.Arbitrary<infer T> ? T : never;

function inputFor(v: Variant) {
  return minimalInput((input) => {
    input.namespace = v.namespace;
    input.profile = v.profile;
    if (v.namespaceB !== undefined) {
      input.servers.b.namespace = v.namespaceB;
    }
    for (const id of ['a', 'b']) {
      input.servers[id].matrix.size = `${v.sizeGi}Gi`;
      input.servers[id].matrix.assumedLoadRate = `${v.rateMi}Mi/s`;
      input.servers[id].maxConcurrentScans = v.scans;
      input.servers[id].mergeInterval = `${v.mergeMs}ms`;
    }
    input.servers.b.replicas = v.replicasB;
    input.servers.b.matrix.accessMode = v.replicasB > 1 ? 'ReadOnlyMany' : 'ReadWriteOnce';
    input.adapter.replicas = v.adapterReplicas;
    input.adapter.port = v.port;
    input.adapter.forwarderPort = v.forwarderPort;
    input.adapter.upstreamTimeout = `${v.upstreamTimeoutS}s`;
    input.adapter.service = { type: v.serviceType };
    if (v.codeData) {
      input.codeData = { enabled: true, claimName: 'code-data' };
      delete input.adapter.dictUrl;
      delete input.adapter.casUrl;
    }
  });
}

describe('generated valid configs', () => {
  test('synthesize and re-synthesize byte-identically', () => {
    fc.assert(
      fc.property(variant, (v) => {
        const first = renderEnvironment(parseConfig(inputFor(v)));
        const second = renderEnvironment(parseConfig(inputFor(v)));

        expect([...second.entries()]).toEqual([...first.entries()]);
        expect(first.has('kustomization.yaml')).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
