import { z } from 'zod';
import {
  DURATION_PATTERN,
  QUANTITY_PATTERN,
  RATE_PATTERN,
  parseBytes,
  parseDurationSeconds,
} from './units';

/**
 * The configuration of one Morphogen environment. This schema is the single
 * source of truth: the TypeScript types, the defaults and the exported JSON
 * Schema all come from it.
 */

/** nginx:1.27-alpine, the image that serves code-data and forwards to the adapter, pinned by digest. */
export const DEFAULT_NGINX_IMAGE =
  'nginx@sha256:65645c7bb6a0661892a8b03b89d0743208a18dd2f3f17a54ef4b76fb8e2f2a10';

/** The directory the server image owns and where the matrix volume is mounted. */
export const MATRIX_MOUNT_PATH = '/var/lib/morphogen';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const CPU = /^([1-9][0-9]*m|[0-9]+(\.[0-9]{1,3})?)$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

const dnsLabel = z
  .string()
  .max(63, 'must be at most 63 characters')
  .regex(DNS_LABEL, 'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit');

const dnsSubdomain = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(DNS_SUBDOMAIN, 'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and "."');

const secretKey = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(SECRET_KEY, 'must consist of letters, digits, "-", "_" or "."');

const quantity = z
  .string({ error: 'must be a quoted byte quantity such as 512Mi, 75Gi or 80G' })
  .regex(QUANTITY_PATTERN, 'must be a byte quantity such as 512Mi, 75Gi or 80G');

const duration = z
  .string({ error: 'must be a duration string with a unit, such as 1500ms, 30s, 15m or 2h' })
  .regex(DURATION_PATTERN, 'must be a duration such as 1500ms, 30s, 15m or 2h');

const cpu = z
  .string({ error: 'must be a quoted CPU quantity such as "250m", "1" or "1.5"' })
  .regex(CPU, 'must be a CPU quantity such as 250m, 1 or 1.5');

const imageRef = z.string().superRefine((ref, ctx) => {
  const problem = imageProblem(ref, false);
  if (problem !== undefined) {
    ctx.addIssue({ code: 'custom', message: problem });
  }
}).transform(normalizeImage);

/**
 * Drops the tag of a `repository:tag@digest` reference. Runtimes pull by
 * the digest and ignore the tag, so keeping both only misleads reviewers.
 */
export function normalizeImage(ref: string): string {
  const at = ref.indexOf('@');
  if (at === -1) {
    return ref;
  }
  const name = ref.slice(0, at);
  const colon = name.indexOf(':', name.lastIndexOf('/') + 1);
  return colon === -1 ? ref : `${name.slice(0, colon)}${ref.slice(at)}`;
}

const port = z.number().int().min(1).max(65535);
const unprivilegedPort = z.number().int().min(1024, 'must be 1024 or above, because the pod runs without NET_BIND_SERVICE').max(65535);
const positiveInt = z.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' });

const secretKeyRef = z
  .strictObject({
    name: dnsSubdomain.describe('Name of an existing Secret in the namespace of the workload that reads it.'),
    key: secretKey.describe('Key inside that Secret.'),
  })
  .describe('A key of an existing Kubernetes Secret.');

const profile = z
  .enum(['dev', 'test', 'prod', 'production'])
  .describe('Morphogen environment profile; "production" is accepted as "prod", as the binaries accept it.');

const containerResources = (defaults: { cpuRequest: string; cpuLimit: string; memoryRequest: string; memoryLimit: string }) =>
  z
    .strictObject({
      cpuRequest: cpu.default(defaults.cpuRequest).describe('CPU request.'),
      cpuLimit: cpu.default(defaults.cpuLimit).describe('CPU limit.'),
      memoryRequest: quantity.default(defaults.memoryRequest).describe('Memory request.'),
      memoryLimit: quantity.default(defaults.memoryLimit).describe('Memory limit; the container is OOM-killed above it.'),
    })
    .prefault({})
    .describe('Requests and limits of the container.');

const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** Namespaces the cluster itself owns; a default deny there would break the cluster. */
const RESERVED_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

const labelMap = z
  .record(
    z.string().regex(LABEL_KEY, 'must be a label key such as app.kubernetes.io/name'),
    z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, 'must be a label value of at most 63 characters'),
  );

const cidr = z.string().regex(/^[0-9a-fA-F.:]+\/[0-9]{1,3}$/, 'must be a CIDR such as 203.0.113.0/24');

/** Pods allowed to connect: namespace and pod labels, or a CIDR outside the cluster. */
const peerSchema = z
  .strictObject({
    namespaceLabels: labelMap.optional().describe('Labels of the peer\'s namespace; omitted means the namespace of the policy itself.'),
    podLabels: labelMap.optional().describe('Labels of the peer pods; omitted means every pod of the selected namespaces.'),
    cidr: cidr.optional().describe('Address range outside the cluster, for example a load balancer\'s; excludes the two selectors.'),
  })
  .refine((peer) => peer.cidr === undefined || (peer.namespaceLabels === undefined && peer.podLabels === undefined), {
    error: 'give either cidr or namespaceLabels/podLabels, not both',
  })
  .describe('A NetworkPolicy peer.');

const egressRuleSchema = z
  .strictObject({
    cidr: cidr.describe('Destination range, for example 0.0.0.0/0 for public endpoints.'),
    except: z.array(cidr).default([]).describe('Ranges excluded from cidr, for example private ranges and 169.254.0.0/16.'),
    ports: z.array(port).min(1).describe('Destination TCP ports.'),
  })
  .describe('Egress the adapter needs beyond the cluster: upstream RPC, tx relay, dictionary/CAS, OpenTelemetry.');

const toleration = z
  .strictObject({
    key: z.string().min(1).optional().describe('Taint key; omitted with operator Exists matches every taint.'),
    operator: z.enum(['Equal', 'Exists']).default('Equal').describe('Equal compares value; Exists matches any value.'),
    value: z.string().optional().describe('Taint value, for operator Equal.'),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().describe('Taint effect; omitted matches every effect.'),
  })
  .superRefine((t, ctx) => {
    if (t.operator === 'Exists' && t.value !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'must be omitted with operator Exists' });
    }
    if (t.key === undefined && t.operator !== 'Exists') {
      ctx.addIssue({ code: 'custom', path: ['operator'], message: 'must be Exists when key is omitted' });
    }
  })
  .describe('A pod toleration.');

const nodeRequirement = z
  .strictObject({
    key: z.string().min(1).describe('Node label key.'),
    operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']).describe('How the label is compared.'),
    values: z.array(z.string()).default([]).describe('Values for In, NotIn, Gt and Lt.'),
  })
  .superRefine((r, ctx) => {
    const count = r.values.length;
    const bad = (['In', 'NotIn'].includes(r.operator) && count === 0)
      || (['Exists', 'DoesNotExist'].includes(r.operator) && count > 0)
      || (['Gt', 'Lt'].includes(r.operator) && (count !== 1 || !/^-?[0-9]+$/.test(r.values[0])));
    if (bad) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `do not fit operator ${r.operator}: In and NotIn need values, Exists and DoesNotExist none, Gt and Lt one integer` });
    }
  })
  .describe('One node label requirement; all requirements of a server must hold.');

const gpuSchema = z
  .strictObject({
    count: positiveInt.default(1).describe('GPUs requested as the extended resource below.'),
    resourceName: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'must be a fully qualified extended resource name such as nvidia.com/gpu')
      .refine((name) => !/(^|\.)kubernetes\.io\//.test(name), 'must not be in the kubernetes.io domain, which holds only built-in resources such as cpu and memory')
      .default('nvidia.com/gpu').describe('Extended resource name of the device plugin.'),
    nodeSelector: labelMap
      .default({ 'nvidia.com/gpu.present': 'true' })
      .describe('Labels of GPU nodes; the default is the label NVIDIA GPU feature discovery sets.'),
    tolerations: z
      .array(toleration)
      .default([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }])
      .describe('Tolerations for the taints GPU nodes carry.'),
    runtimeClassName: dnsSubdomain.optional().describe('RuntimeClass of the GPU container runtime, for example nvidia.'),
    device: z.number().int().min(0).default(0).describe('MORPHOGEN_SERVER_GPU_DEVICE: device ordinal.'),
    preload: z.boolean().default(true).describe('MORPHOGEN_SERVER_GPU_PRELOAD: load the matrix into GPU memory at start-up. Host memory is still sized for the whole matrix, which is staged there.'),
    streams: z.number().int().min(1).max(8).optional().describe('MORPHOGEN_GPU_STREAMS, 1 to 8.'),
    batchPolicy: z.enum(['adaptive', 'throughput', 'latency']).optional().describe('MORPHOGEN_GPU_BATCH_POLICY.'),
  })
  .describe('GPU mode: the server scans the matrix on a GPU. Needs a GPU build of the server image.');

const serverBase = z
  .strictObject({
    namespace: dnsLabel
      .optional()
      .describe('Namespace of this instance. Defaults to the environment namespace.'),
    environment: profile
      .optional()
      .describe('MORPHOGEN_SERVER_ENV of this instance. Defaults to the environment profile.'),
    bindAddress: z
      .string()
      .superRefine(checkBindAddress)
      .default('0.0.0.0:3000')
      .describe('MORPHOGEN_SERVER_BIND_ADDR. Must not be loopback, because the binary\'s own default 127.0.0.1:3000 is unreachable from outside the container.'),
    matrix: z
      .strictObject({
        file: z
          .string()
          .refine((file) => file.startsWith(`${MATRIX_MOUNT_PATH}/`), {
            error: (issue) => `"${String(issue.input)}" is outside ${MATRIX_MOUNT_PATH}, where the matrix volume is mounted; use ${MATRIX_MOUNT_PATH}/matrix.bin`,
          })
          .default(`${MATRIX_MOUNT_PATH}/matrix.bin`)
          .describe(`MORPHOGEN_SERVER_MATRIX_FILE: path of the matrix snapshot, inside ${MATRIX_MOUNT_PATH} where the volume is mounted.`),
        claimName: dnsSubdomain.describe('PersistentVolumeClaim that holds the matrix file: an existing one, or the one createClaim makes.'),
        createClaim: z
          .strictObject({
            storageClassName: z.string().describe('StorageClass of the new claim; "" with volumeName binds a PersistentVolume the operator made, for example a local volume on a node.'),
            volumeName: dnsSubdomain.optional().describe('PersistentVolume to bind, for example a node-local PersistentVolume.'),
            size: quantity.optional().describe('Requested storage. Defaults to the matrix size plus 10% for snapshot refreshes.'),
          })
          .optional()
          .describe('Let the stack create claimName instead of expecting it.'),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits, as sha256sum prints them')
          .optional()
          .describe('Expected SHA-256 of the matrix file. When set, an init container verifies the file before the server starts.'),
        assumedHashRate: z
          .string()
          .regex(RATE_PATTERN, 'must be a rate such as 300Mi/s')
          .default('200Mi/s')
          .describe('Rate at which the checksum is assumed to read the file; the verification is bounded by twice size / rate plus a minute.'),
        accessMode: z
          .enum(['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany'])
          .default('ReadWriteOnce')
          .describe('Access mode of that claim. More than one replica needs ReadOnlyMany or ReadWriteMany.'),
        size: quantity.describe('Size of the matrix file, for example 75Gi. Sizes the memory request and the startup probe.'),
        assumedLoadRate: z
          .string()
          .regex(RATE_PATTERN, 'must be a rate such as 200Mi/s')
          .default('100Mi/s')
          .describe('Rate at which the server is assumed to read the matrix at start-up. The startup probe allows size / rate, doubled, plus two minutes.'),
      })
      .describe('The matrix snapshot the server loads into memory at start-up.'),
    prgKeys: z
      .strictObject({
        secretName: dnsSubdomain.describe('Existing Secret holding this instance\'s two page PRG keys. A and B must use different Secrets.'),
        key0: secretKey.default('page-prg-key-0').describe('Key of MORPHOGEN_SERVER_PAGE_PRG_KEY_0 in that Secret.'),
        key1: secretKey.default('page-prg-key-1').describe('Key of MORPHOGEN_SERVER_PAGE_PRG_KEY_1 in that Secret.'),
      })
      .describe('Where the pod reads its page PRG keys (16 bytes each, 32 hex characters). The values never appear in the output.'),
    adminToken: secretKeyRef
      .optional()
      .describe('MORPHOGEN_ADMIN_BEARER_TOKEN from a Secret. Without it, /admin/* returns 403.'),
    maxConcurrentScans: positiveInt.default(32).describe('MORPHOGEN_SERVER_MAX_CONCURRENT_SCANS.'),
    mergeInterval: duration.default('1000ms').describe('MORPHOGEN_SERVER_MERGE_INTERVAL_MS, as a duration.'),
    logLevel: z.string().min(1).default('info').describe('RUST_LOG filter.'),
    replicas: positiveInt.default(1).describe('Pod count. One replica rolls out with Recreate so two copies of the matrix never share a node\'s memory.'),
    resources: z
      .strictObject({
        cpuRequest: cpu.default('2').describe('CPU request.'),
        cpuLimit: cpu.default('4').describe('CPU limit.'),
        memory: quantity
          .optional()
          .describe('Memory request and limit. Defaults to the matrix size plus memoryHeadroom; must not be below the matrix size.'),
        memoryHeadroom: quantity.default('4Gi').describe('Memory added to the matrix size when memory is not given.'),
      })
      .prefault({})
      .describe('Requests and limits of the server container.'),
    gpu: gpuSchema.optional(),
    nodeSelector: labelMap.default({}).describe('Labels the node must have, merged with the GPU node selector.'),
    tolerations: z.array(toleration).default([]).describe('Tolerations, added to the GPU tolerations.'),
    nodeAffinity: z.array(nodeRequirement).default([]).describe('Required node label requirements, for example a memory class.'),
    priorityClassName: dnsSubdomain
      .optional()
      .describe('PriorityClass, so a server holding tens of GB in memory is not the first pod evicted. The class must exist in the cluster.'),
  });

const serverSchema = serverBase
  .superRefine(checkServer)
  .describe('One morphogen-server instance.');

const upstreamRpc = z
  .union([
    z.strictObject({
      url: httpUrl.describe('Upstream JSON-RPC URL, written into the manifest in plain text.'),
    }),
    z.strictObject({
      secretKeyRef: secretKeyRef.describe('Secret key whose value is the upstream JSON-RPC URL.'),
    }),
  ])
  .describe('UPSTREAM_RPC_URL. Provider URLs usually embed an API key, so prefer secretKeyRef.');

const adapterSchema = z
  .strictObject({
    port: unprivilegedPort.default(8545).describe('--port: the loopback port the adapter listens on (127.0.0.1 only).'),
    replicas: positiveInt.default(2).describe('Pod count. Above 1, pods spread across nodes and get a PodDisruptionBudget.'),
    upstreamRpc,
    dictUrl: httpUrl.optional().describe('DICT_URL. Defaults to the code-data Service when codeData is enabled.'),
    casUrl: httpUrl.optional().describe('CAS_URL. Defaults to the code-data Service when codeData is enabled.'),
    refreshInterval: duration.default('12s').describe('--refresh-interval.'),
    upstreamTimeout: duration.default('15s').describe('--upstream-timeout. The readiness probe waits longer than this.'),
    txRelayUrl: httpUrl.optional().describe('--tx-relay: where eth_sendRawTransaction goes. Defaults to the binary\'s public relay.'),
    otel: z
      .strictObject({
        env: z.string().min(1).default('production').describe('--otel-env.'),
        traces: z.boolean().default(false).describe('--otel-traces.'),
        endpoint: httpUrl.optional().describe('--otel-endpoint (OTLP collector). Defaults to the binary\'s http://127.0.0.1:4317.'),
        serviceName: z.string().min(1).optional().describe('--otel-service-name.'),
        version: z.string().min(1).optional().describe('--otel-version.'),
      })
      .prefault({})
      .describe('OpenTelemetry flags.'),
    fallbackToUpstream: z
      .boolean()
      .default(false)
      .describe('--fallback-to-upstream: send private reads to the upstream provider when PIR fails. This reveals user addresses.'),
    allowPrivacyDegradedFallback: z
      .boolean()
      .default(false)
      .describe('--allow-privacy-degraded-fallback: the acknowledgement a prod adapter needs before it starts with fallbackToUpstream.'),
    logLevel: z.string().min(1).default('info').describe('RUST_LOG filter.'),
    service: z
      .strictObject({
        type: z
          .enum(['ClusterIP', 'NodePort', 'LoadBalancer'])
          .default('ClusterIP')
          .describe('Service type. Anything but ClusterIP is reachable from outside the cluster.'),
        port: port.default(8545).describe('Port clients use on the Service.'),
        loadBalancerSourceRanges: z
          .array(z.string().regex(/^[0-9a-fA-F.:]+\/[0-9]{1,3}$/, 'must be a CIDR such as 203.0.113.0/24'))
          .default([])
          .describe('Client CIDRs allowed through a LoadBalancer.'),
      })
      .prefault({})
      .describe('The Service in front of the forwarder.'),
    clients: z
      .array(peerSchema)
      .default([])
      .describe('Who may reach the adapter\'s JSON-RPC port. Empty means no client at all, which suits nothing but a first deploy.'),
    egress: z
      .array(egressRuleSchema)
      .default([])
      .describe('Destinations outside the cluster the adapter may reach. Servers, code-data and DNS are allowed without listing them.'),
    forwarderPort: unprivilegedPort
      .default(8080)
      .describe('Port the forwarder sidecar listens on, on the pod IP, forwarding to the adapter\'s loopback port.'),
    wait: z
      .strictObject({
        attemptTimeout: duration.default('5s').describe('Timeout of one HTTP request of a wait.'),
        interval: duration.default('5s').describe('Pause between attempts.'),
        timeout: duration.default('20m').describe('Overall bound of one wait; the init container fails when it is reached.'),
      })
      .prefault({})
      .describe('Init containers that hold the adapter until servers A and B (and code-data) are healthy.'),
    resources: containerResources({ cpuRequest: '250m', cpuLimit: '1', memoryRequest: '256Mi', memoryLimit: '512Mi' }),
    forwarderResources: containerResources({ cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '32Mi', memoryLimit: '64Mi' }),
    waitResources: containerResources({ cpuRequest: '10m', cpuLimit: '100m', memoryRequest: '16Mi', memoryLimit: '64Mi' }),
  })
  .describe('The Ethereum JSON-RPC adapter and its forwarder sidecar.');

const codeDataSchema = z
  .strictObject({
    enabled: z.boolean().default(false).describe('Serve the dictionary and cas/ from inside the deployment.'),
    claimName: dnsSubdomain
      .optional()
      .describe('Existing PersistentVolumeClaim holding mainnet_compact.dict and cas/. Required when enabled.'),
    port: unprivilegedPort.default(8080).describe('Port nginx listens on.'),
    replicas: positiveInt.default(1).describe('Pod count.'),
    resources: containerResources({ cpuRequest: '50m', cpuLimit: '500m', memoryRequest: '32Mi', memoryLimit: '128Mi' }),
  })
  .prefault({})
  .describe('Optional static file service for the code dictionary and the content-addressed store.');

export const environmentSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Path of this JSON Schema, for editors.'),
    name: dnsLabel.describe('Environment name; the output goes to dist/<name>/.'),
    profile,
    namespace: dnsLabel.describe('Namespace of the adapter, code-data and, unless they set their own, the servers.'),
    clusterDomain: dnsSubdomain.default('cluster.local').describe('Cluster DNS domain used in in-cluster URLs.'),
    images: z
      .strictObject({
        server: imageRef.describe('morphogen-server image; also runs the verify-matrix init container, since it has sh and sha256sum.'),
        adapter: imageRef.describe('morphogen-rpc-adapter image; also runs the adapter\'s wait init containers, since it has sh and curl.'),
        nginx: imageRef.default(DEFAULT_NGINX_IMAGE).describe('nginx image for code-data and the forwarder sidecar. Defaults to nginx:1.27-alpine pinned by digest.'),
      })
      .describe('Image references, pinned as repository@sha256:<digest>.'),
    servers: z
      .strictObject({
        a: serverSchema,
        b: serverSchema,
      })
      .describe('PIR servers A and B. They must not share keys; privacy holds while they do not collude.'),
    adapter: adapterSchema,
    codeData: codeDataSchema,
    isolation: z
      .strictObject({
        separateNamespaces: z
          .boolean()
          .optional()
          .describe('Put server A and server B in namespaces of their own (<namespace>-server-a and -b unless servers.*.namespace is set). Defaults to true in prod, false otherwise.'),
        topologyKey: z
          .string()
          .regex(LABEL_KEY, 'must be a node label key such as kubernetes.io/hostname')
          .default('kubernetes.io/hostname')
          .describe('Node label A and B must differ in, for example topology.kubernetes.io/zone.'),
        antiAffinity: z
          .enum(['required', 'preferred'])
          .optional()
          .describe('Whether A and B must (required) or should (preferred) run apart. Defaults to required in prod and preferred otherwise, so a one-node test cluster can run both.'),
      })
      .prefault({})
      .describe('How far apart servers A and B run. PIR privacy holds only while they do not collude.'),
    networkPolicy: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Emit default-deny and per-workload NetworkPolicies.'),
        dns: peerSchema
          .prefault({ namespaceLabels: { 'kubernetes.io/metadata.name': 'kube-system' }, podLabels: { 'k8s-app': 'kube-dns' } })
          .describe('Where cluster DNS runs; every policy with egress allows UDP and TCP 53 to it.'),
      })
      .prefault({})
      .describe('NetworkPolicies: default deny in every namespace of the stack, then only the paths the workloads need.'),
    metrics: z
      .strictObject({
        scraper: peerSchema.optional().describe('Pods (for example Prometheus) allowed to reach the servers\' port for /metrics.'),
        serviceMonitor: z.boolean().default(false).describe('Emit a ServiceMonitor per server (needs the Prometheus Operator CRD).'),
      })
      .prefault({})
      .describe('Prometheus scraping of the servers\' /metrics.'),
  })
  .superRefine(checkCrossFieldRules);

export type EnvironmentInput = z.input<typeof environmentSchema>;
export type EnvironmentConfig = z.output<typeof environmentSchema>;
export type ServerConfig = EnvironmentConfig['servers']['a'];
export type AdapterConfig = EnvironmentConfig['adapter'];
export type CodeDataConfig = EnvironmentConfig['codeData'];
export type ContainerResourcesConfig = AdapterConfig['resources'];
export type Profile = 'dev' | 'test' | 'prod';

/**
 * Resolves the namespace a server runs in: its own setting, else
 * <namespace>-server-<id> when A and B are separated, else the
 * environment namespace.
 */
export function serverNamespace(config: Pick<Config, 'profile' | 'namespace' | 'servers' | 'isolation'>, id: 'a' | 'b'): string {
  const own = config.servers[id].namespace;
  if (own !== undefined) {
    return own;
  }
  const separate = config.isolation.separateNamespaces ?? normalizeProfile(config.profile) === 'prod';
  return separate ? `${config.namespace}-server-${id}` : config.namespace;
}

/** Maps the accepted profile spellings to the three the binaries distinguish. */
export function normalizeProfile(value: EnvironmentConfig['profile']): Profile {
  return value === 'production' ? 'prod' : value;
}

type Context = z.core.$RefinementCtx<z.output<z.ZodObject>>;
type Config = {
  profile: EnvironmentConfig['profile'];
  namespace: string;
  images: EnvironmentConfig['images'];
  servers: EnvironmentConfig['servers'];
  adapter: AdapterConfig;
  codeData: CodeDataConfig;
  isolation: EnvironmentConfig['isolation'];
  networkPolicy: EnvironmentConfig['networkPolicy'];
  metrics: EnvironmentConfig['metrics'];
};

function report(ctx: Context, path: (string | number)[], message: string, input?: unknown): void {
  ctx.addIssue({ code: 'custom', path, message, input });
}

function checkCrossFieldRules(config: Config, ctx: Context): void {
  const prod = normalizeProfile(config.profile) === 'prod';

  if (prod) {
    for (const field of ['server', 'adapter', 'nginx'] as const) {
      const ref = config.images[field];
      // Syntax problems were reported on the field itself.
      if (imageProblem(ref, false) === undefined && imageProblem(ref, true) !== undefined) {
        report(ctx, ['images', field], imageProblem(ref, true)!);
      }
    }
  }

  const a = config.servers.a;
  const b = config.servers.b;
  const namespaceA = serverNamespace(config, 'a');
  const namespaceB = serverNamespace(config, 'b');
  for (const [id, namespace] of [['a', namespaceA], ['b', namespaceB]] as const) {
    if (namespace.length > 63) {
      report(ctx, ['servers', id, 'namespace'], `"${namespace}" (derived from namespace) is longer than 63 characters; set servers.${id}.namespace or shorten namespace`);
    }
  }
  const separate = config.isolation.separateNamespaces ?? prod;
  if (separate && namespaceA === namespaceB) {
    report(ctx, ['servers', 'b', 'namespace'], `equals servers.a.namespace ("${namespaceA}") although isolation.separateNamespaces is ${config.isolation.separateNamespaces === undefined ? 'true by default in prod' : 'true'}; give B a namespace of its own`);
  }
  const reserved: [(string | number)[], string][] = [[['namespace'], config.namespace], [['servers', 'a', 'namespace'], namespaceA], [['servers', 'b', 'namespace'], namespaceB]];
  for (const [path, namespace] of reserved) {
    if (RESERVED_NAMESPACES.includes(namespace)) {
      report(ctx, path, `"${namespace}" belongs to the cluster itself, and the stack would put a default-deny NetworkPolicy and restricted Pod Security on it; use a namespace of its own`);
    }
  }

  checkPeers(ctx, config, [namespaceA, namespaceB]);
  const sameNamespace = namespaceA === namespaceB;
  if (sameNamespace && a.prgKeys.secretName === b.prgKeys.secretName) {
    report(
      ctx,
      ['servers', 'b', 'prgKeys', 'secretName'],
      `must differ from servers.a.prgKeys.secretName ("${a.prgKeys.secretName}"); A and B need separate PRG keys for PIR privacy`,
      b.prgKeys.secretName,
    );
  }

  checkAdapter(ctx, config, prod);

  if (config.codeData.enabled && config.codeData.claimName === undefined) {
    report(ctx, ['codeData', 'claimName'], 'is required when codeData.enabled is true; name the PersistentVolumeClaim holding mainnet_compact.dict and cas/');
  }
}

/**
 * Checks an image reference and returns the problem, if any. Only digests
 * are immutable, so prod requires repository@sha256:<digest>.
 */
function imageProblem(ref: string, requireDigest: boolean): string | undefined {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const digest = at === -1 ? undefined : ref.slice(at + 1);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  const tag = colon === -1 ? undefined : name.slice(colon + 1);
  const repository = colon === -1 ? name : name.slice(0, colon);

  if (!/^[a-z0-9]+([._/:-][a-z0-9]+)*$/.test(repository)) {
    return `"${ref}" is not a valid image repository; use repository@sha256:<64 hex digits>`;
  }
  if (tag === 'latest') {
    return `"${ref}" uses the mutable tag "latest"; pin the image as ${repository}@sha256:<64 hex digits>`;
  }
  if (digest !== undefined && !DIGEST.test(digest)) {
    const length = digest.startsWith('sha256:') ? ` (${digest.length - 'sha256:'.length} characters after sha256:)` : '';
    return `"${ref}" has a malformed digest${length}; a digest is sha256: followed by 64 lowercase hex digits`;
  }
  if (digest === undefined && requireDigest) {
    return `"${ref}" is not pinned by digest, which prod requires; use ${repository}@sha256:<64 hex digits>`;
  }
  return undefined;
}

function checkBindAddress(address: string, ctx: z.core.$RefinementCtx<string>): void {
  const bind = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):([0-9]{1,5})$/.exec(address);
  if (!bind || Number(bind[2]) < 1 || Number(bind[2]) > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${address}" is not a socket address; use 0.0.0.0:3000` });
  } else if (/^(127\.|localhost$|\[::1\]$)/.test(bind[1])) {
    ctx.addIssue({ code: 'custom', message: `"${address}" is loopback, so no other pod can reach the server; use 0.0.0.0:${bind[2]}` });
  }
}

function checkServer(server: z.output<typeof serverBase>, ctx: z.core.$RefinementCtx<z.output<typeof serverBase>>): void {
  const claimSize = server.matrix.createClaim?.size;
  if (claimSize !== undefined && parseBytes(claimSize) < parseBytes(server.matrix.size)) {
    ctx.addIssue({
      code: 'custom',
      path: ['matrix', 'createClaim', 'size'],
      message: `"${claimSize}" is below matrix.size (${server.matrix.size}); the snapshot would not fit, so remove the field or raise it`,
    });
  }

  if (server.prgKeys.key0 === server.prgKeys.key1) {
    ctx.addIssue({
      code: 'custom',
      path: ['prgKeys', 'key1'],
      message: `must differ from prgKeys.key0 ("${server.prgKeys.key0}"); the server needs two different PRG keys`,
    });
  }

  if (server.replicas > 1 && server.matrix.accessMode === 'ReadWriteOnce') {
    ctx.addIssue({
      code: 'custom',
      path: ['replicas'],
      message: `${server.replicas} replicas cannot share a ReadWriteOnce claim; set matrix.accessMode to ReadOnlyMany (on a volume that supports it) or use 1 replica`,
    });
  }

  if (server.resources.memory !== undefined && parseBytes(server.resources.memory) < parseBytes(server.matrix.size)) {
    ctx.addIssue({
      code: 'custom',
      path: ['resources', 'memory'],
      message: `"${server.resources.memory}" is below matrix.size (${server.matrix.size}); the server holds the whole matrix in memory and would be OOM-killed, so remove the field or raise it above the matrix size`,
    });
  }
}

/**
 * Checks the peers that policies of several namespaces share: without
 * namespaceLabels they would mean a different namespace in each policy,
 * and a scraper that selects the stack's own server pods would admit one
 * server to the other.
 */
function checkPeers(ctx: Context, config: Config, serverNamespaces: string[]): void {
  const dns = config.networkPolicy.dns;
  if (dns.cidr === undefined && dns.namespaceLabels === undefined) {
    report(ctx, ['networkPolicy', 'dns', 'namespaceLabels'], 'is required, because the policies live in several namespaces; name the DNS namespace, for example kubernetes.io/metadata.name: kube-system');
  }

  const scraper = config.metrics.scraper;
  if (scraper === undefined || scraper.cidr !== undefined) {
    return;
  }
  if (scraper.namespaceLabels === undefined) {
    report(ctx, ['metrics', 'scraper', 'namespaceLabels'], 'is required, because the servers\' policies live in their own namespaces; name the scraper\'s namespace, for example kubernetes.io/metadata.name: monitoring');
    return;
  }
  const namespaceName = scraper.namespaceLabels['kubernetes.io/metadata.name'];
  const selectsStack = namespaceName === undefined
    ? scraper.namespaceLabels['app.kubernetes.io/part-of'] === 'morphogen' || Object.keys(scraper.namespaceLabels).some((key) => key.startsWith('pod-security.kubernetes.io/'))
    : serverNamespaces.includes(namespaceName) || namespaceName === config.namespace;
  if (selectsStack && Object.keys(scraper.podLabels ?? {}).length === 0) {
    report(ctx, ['metrics', 'scraper', 'podLabels'], 'is required when the scraper\'s namespace selector matches a namespace of the stack; otherwise every pod there, a server included, could reach the servers');
  }
  if (scraper.podLabels?.['app.kubernetes.io/part-of'] === 'morphogen' || scraper.podLabels?.['app.kubernetes.io/name'] === 'morphogen-server') {
    report(ctx, ['metrics', 'scraper', 'podLabels'], 'selects the stack\'s own pods, which would admit one server to the other; select the scraper\'s pods, for example app.kubernetes.io/name: prometheus');
  }
}

function checkAdapter(ctx: Context, config: Config, prod: boolean): void {
  const adapter = config.adapter;

  if (adapter.fallbackToUpstream && prod && !adapter.allowPrivacyDegradedFallback) {
    report(ctx, ['adapter', 'fallbackToUpstream'], 'is true in prod without adapter.allowPrivacyDegradedFallback, so the adapter would refuse to start; set the acknowledgement only if sending user addresses to the upstream provider is acceptable, or turn fallback off', true);
  }

  if (!config.codeData.enabled) {
    for (const field of ['dictUrl', 'casUrl'] as const) {
      if (adapter[field] === undefined) {
        report(ctx, ['adapter', field], 'is required unless codeData.enabled is true; point it at the dictionary/CAS endpoint');
      }
    }
  }

  if (prod) {
    const external: [string, string | undefined][] = [
      ['dictUrl', adapter.dictUrl],
      ['casUrl', adapter.casUrl],
      ['txRelayUrl', adapter.txRelayUrl],
      ['upstreamRpc.url', 'url' in adapter.upstreamRpc ? adapter.upstreamRpc.url : undefined],
    ];
    for (const [field, url] of external) {
      if (url !== undefined && url.startsWith('http://') && !isInClusterUrl(url)) {
        report(ctx, ['adapter', ...field.split('.')], `"${redactUrl(url)}" is plain http, which prod forbids for external endpoints; use https://`, url);
      }
    }
  }

  if (adapter.forwarderPort === adapter.port) {
    report(ctx, ['adapter', 'forwarderPort'], `${adapter.forwarderPort} equals adapter.port; the forwarder and the adapter share the pod's network namespace, so give the forwarder another port`);
  }

  if (parseDurationSeconds(adapter.wait.attemptTimeout) >= parseDurationSeconds(adapter.wait.timeout)) {
    report(ctx, ['adapter', 'wait', 'attemptTimeout'], `"${adapter.wait.attemptTimeout}" must be shorter than adapter.wait.timeout ("${adapter.wait.timeout}")`, adapter.wait.attemptTimeout);
  }
}

/** True for URLs whose host is a Service name inside the cluster rather than a public endpoint. */
export function isInClusterUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return !host.includes('.') || host.endsWith('.svc') || /\.svc\.[a-z0-9.-]+$/.test(host);
}

/** Strips userinfo, path and query from a URL, since provider URLs carry API keys there. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/...`;
  } catch {
    return '<unparsable URL>';
  }
}
