import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ServiceMonitor } from '../../imports/monitoring.coreos.com';
import { MATRIX_MOUNT_PATH, Profile, ServerConfig, normalizeProfile } from '../config/schema';
import { formatMebibytes, parseBytes, parseDurationMs, parseRate } from '../config/units';
import { verifyMatrixCommand } from './shell-commands';
import {
  ComponentLabels,
  addDisruptionBudget,
  addService,
  addWorkloadIdentity,
  basePodSpec,
  MORPHOGEN_UID,
  checkovSkips,
  container,
  PULL_POLICY_SKIP,
  SECRET_ENV_SKIP,
  probe,
  scratchVolume,
  spreadOverNodes,
  selectorLabels,
  versionFromImage,
} from './pod-defaults';

/** Name of the container port and Service port of a server. */
export const SERVER_PORT_NAME = 'http';

/** Extra start-up time on top of the doubled matrix load estimate. */
const STARTUP_MARGIN_SECONDS = 120;
const STARTUP_PERIOD_SECONDS = 10;

/** Properties of a `ServerInstance`. */
export interface ServerInstanceProps {
  /** Instance letter. A and B must never share keys or a failure domain. */
  readonly instance: 'a' | 'b';
  /** The validated configuration of this instance. */
  readonly config: ServerConfig;
  /** Namespace of every object of this instance. */
  readonly namespace: string;
  /** Profile used when the instance sets no environment of its own. */
  readonly profile: Profile;
  /** morphogen-server image, pinned by digest. */
  readonly image: string;
  /** Cluster DNS domain, for the in-cluster URL. */
  readonly clusterDomain: string;
  /** Namespace of the other instance, which this one must never share a node (or zone) with. */
  readonly peerNamespace: string;
  /** Node label the two instances must differ in. */
  readonly topologyKey: string;
  /** Whether the scheduler must, or only should, keep A and B apart. */
  readonly antiAffinity: 'required' | 'preferred';
  /** Emit a ServiceMonitor for /metrics. */
  readonly serviceMonitor: boolean;
}

/**
 * Computes the start-up budget of a server in seconds: twice the time the
 * matrix takes to load at the assumed rate, plus a margin. A disk slower
 * than assumed then still does not end in a restart loop.
 */
export function startupBudgetSeconds(config: ServerConfig): number {
  const loadSeconds = parseBytes(config.matrix.size) / parseRate(config.matrix.assumedLoadRate);
  return Math.ceil(2 * loadSeconds) + STARTUP_MARGIN_SECONDS;
}

/**
 * Time budget of the matrix checksum in seconds: twice the time to read the
 * file at the assumed hash rate, plus a minute. Zero without a checksum.
 */
export function verifyBudgetSeconds(config: ServerConfig): number {
  if (config.matrix.sha256 === undefined) {
    return 0;
  }
  const readSeconds = parseBytes(config.matrix.size) / parseRate(config.matrix.assumedHashRate);
  return Math.ceil(2 * readSeconds) + 60;
}

/** Storage a created claim requests: explicit, or the matrix size plus 10% for a snapshot refresh. */
export function claimSize(config: ServerConfig): string {
  return config.matrix.createClaim?.size ?? formatMebibytes(parseBytes(config.matrix.size) * 1.1);
}

/**
 * Memory request and limit of a server: explicit, or the matrix size plus
 * headroom. GPU mode with preload still stages the whole matrix in host
 * memory, so the formula is the same in both modes.
 */
export function serverMemory(config: ServerConfig): string {
  if (config.resources.memory !== undefined) {
    return config.resources.memory;
  }
  return formatMebibytes(parseBytes(config.matrix.size) + parseBytes(config.resources.memoryHeadroom));
}

/**
 * One morphogen-server instance: Deployment, Service and ServiceAccount.
 */
export class ServerInstance extends Construct {
  /** Name of the Service, the Deployment and the ServiceAccount. */
  public readonly name: string;
  /** Namespace of every object of this instance. */
  public readonly namespace: string;
  /** Port of the Service and of the container. */
  public readonly port: number;
  /** In-cluster base URL of the Service, without a trailing slash. */
  public readonly url: string;
  /** Labels that select this instance's pods. */
  public readonly podSelector: Record<string, string>;
  /** Labels of every object of this instance. */
  public readonly labels: Record<string, string>;

  /** Labels that select the pods of instance `a` or `b`, known before that instance exists. */
  public static podSelectorFor(instance: 'a' | 'b'): Record<string, string> {
    return selectorLabels(ServerInstance.componentLabels(instance, 'unused'));
  }

  private static componentLabels(instance: 'a' | 'b', version: string): ComponentLabels {
    return { name: 'morphogen-server', instance: `morphogen-server-${instance}`, component: 'pir-server', version };
  }

  constructor(scope: Construct, id: string, props: ServerInstanceProps) {
    super(scope, id);
    const config = props.config;
    this.name = `morphogen-server-${props.instance}`;
    this.namespace = props.namespace;
    this.port = Number(config.bindAddress.slice(config.bindAddress.lastIndexOf(':') + 1));
    this.url = `http://${this.name}.${this.namespace}.svc.${props.clusterDomain}:${this.port}`;

    const labels = ServerInstance.componentLabels(props.instance, versionFromImage(props.image));
    const { podSelector, metadata } = addWorkloadIdentity(this, labels, this.namespace);
    this.podSelector = podSelector;
    this.labels = metadata.labels;
    const peer = props.instance === 'a' ? 'b' : 'a';

    const startupBudget = startupBudgetSeconds(config);
    const memory = kplus.k8s.Quantity.fromString(serverMemory(config));
    const health = { httpGet: { path: '/health', port: kplus.k8s.IntOrString.fromString(SERVER_PORT_NAME) } };

    const gpu = config.gpu;
    const limits: Record<string, kplus.k8s.Quantity> = { cpu: kplus.k8s.Quantity.fromString(config.resources.cpuLimit), memory };
    if (gpu !== undefined) {
      // Extended resources are not overcommitted: the request defaults to
      // the limit.
      limits[gpu.resourceName] = kplus.k8s.Quantity.fromNumber(gpu.count);
    }

    const server = container({
      name: 'morphogen-server',
      image: props.image,
      uid: MORPHOGEN_UID,
      env: this.environment(props),
      ports: [{ name: SERVER_PORT_NAME, containerPort: this.port, protocol: 'TCP' }],
      resources: {
        requests: { cpu: kplus.k8s.Quantity.fromString(config.resources.cpuRequest), memory },
        limits,
      },
      // The port stays closed until the matrix is in memory, so the startup
      // probe carries the whole load time. Liveness and readiness start only
      // after it has passed.
      startupProbe: probe(health, {
        periodSeconds: STARTUP_PERIOD_SECONDS,
        timeoutSeconds: 3,
        failureThreshold: Math.ceil(startupBudget / STARTUP_PERIOD_SECONDS),
      }),
      readinessProbe: probe(health, { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }),
      livenessProbe: probe(health, { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 6 }),
      volumeMounts: [
        { name: 'matrix', mountPath: MATRIX_MOUNT_PATH, readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    });

    const peerTerm: kplus.k8s.PodAffinityTerm = {
      labelSelector: { matchLabels: ServerInstance.podSelectorFor(peer) },
      namespaces: [props.peerNamespace],
      topologyKey: props.topologyKey,
    };

    const createClaim = config.matrix.createClaim;
    if (createClaim !== undefined) {
      new kplus.k8s.KubePersistentVolumeClaim(this, 'MatrixClaim', {
        metadata: {
          ...metadata,
          name: config.matrix.claimName,
          // Deleting the stack must not delete a snapshot of tens of GB.
          annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false,Delete=false', 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
        },
        spec: {
          accessModes: [config.matrix.accessMode],
          storageClassName: createClaim.storageClassName,
          volumeName: createClaim.volumeName,
          resources: { requests: { storage: kplus.k8s.Quantity.fromString(claimSize(config)) } },
        },
      });
    }

    new kplus.k8s.KubeDeployment(this, 'Deployment', {
      metadata: { ...metadata, annotations: checkovSkips({ ...PULL_POLICY_SKIP, ...SECRET_ENV_SKIP }) },
      spec: {
        replicas: config.replicas,
        // One replica: Recreate, so the old pod releases a ReadWriteOnce
        // claim and its memory before the new pod loads its own copy of the
        // matrix. Several replicas share a read-only claim and replace one
        // pod at a time without surging above the replica count.
        strategy: config.replicas === 1
          ? { type: 'Recreate' }
          : { type: 'RollingUpdate', rollingUpdate: { maxSurge: kplus.k8s.IntOrString.fromNumber(0), maxUnavailable: kplus.k8s.IntOrString.fromNumber(1) } },
        minReadySeconds: 10,
        progressDeadlineSeconds: verifyBudgetSeconds(config) + startupBudget + 600,
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: { labels: this.labels },
          spec: {
            ...basePodSpec(this.name, MORPHOGEN_UID),
            priorityClassName: config.priorityClassName,
            runtimeClassName: gpu?.runtimeClassName,
            nodeSelector: this.nodeSelector(config),
            tolerations: this.tolerations(config),
            // A and B on one node (or zone) would fail together and sit in
            // one trust domain, which weakens the non-collusion assumption.
            affinity: {
              nodeAffinity: config.nodeAffinity.length === 0 ? undefined : {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [{
                    matchExpressions: config.nodeAffinity.map((r) => ({ key: r.key, operator: r.operator, values: r.values.length > 0 ? [...r.values] : undefined })),
                  }],
                },
              },
              podAntiAffinity: props.antiAffinity === 'required'
                ? { requiredDuringSchedulingIgnoredDuringExecution: [peerTerm] }
                : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: peerTerm }] },
            },
            topologySpreadConstraints: config.replicas > 1 ? [spreadOverNodes(this.podSelector)] : undefined,
            initContainers: config.matrix.sha256 === undefined ? undefined : [container({
              name: 'verify-matrix',
              image: props.image,
              uid: MORPHOGEN_UID,
              command: verifyMatrixCommand(config.matrix.file, config.matrix.sha256, verifyBudgetSeconds(config)),
              resources: {
                requests: { cpu: kplus.k8s.Quantity.fromString('500m'), memory: kplus.k8s.Quantity.fromString('32Mi') },
                limits: { cpu: kplus.k8s.Quantity.fromString('1'), memory: kplus.k8s.Quantity.fromString('64Mi') },
              },
              volumeMounts: [
                { name: 'matrix', mountPath: MATRIX_MOUNT_PATH, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            })],
            containers: [server],
            volumes: [
              { name: 'matrix', persistentVolumeClaim: { claimName: config.matrix.claimName, readOnly: true } },
              scratchVolume('tmp'),
            ],
          },
        },
      },
    });

    addService(this, metadata, this.podSelector, { name: SERVER_PORT_NAME, port: this.port });

    if (config.replicas > 1) {
      addDisruptionBudget(this, metadata, this.podSelector);
    }

    if (props.serviceMonitor) {
      new ServiceMonitor(this, 'ServiceMonitor', {
        metadata,
        spec: {
          selector: { matchLabels: this.podSelector },
          endpoints: [{ port: SERVER_PORT_NAME, path: '/metrics', interval: '30s' }],
        },
      });
    }
  }

  private nodeSelector(config: ServerConfig): Record<string, string> | undefined {
    const selector = { ...(config.gpu?.nodeSelector ?? {}), ...config.nodeSelector };
    return Object.keys(selector).length === 0 ? undefined : selector;
  }

  private tolerations(config: ServerConfig): kplus.k8s.Toleration[] | undefined {
    const tolerations = [...(config.gpu?.tolerations ?? []), ...config.tolerations].map((t) => ({ ...t }));
    return tolerations.length === 0 ? undefined : tolerations;
  }

  private environment(props: ServerInstanceProps): kplus.k8s.EnvVar[] {
    const config = props.config;
    const secret = (name: string, key: string) => ({ valueFrom: { secretKeyRef: { name, key } } });
    const env: kplus.k8s.EnvVar[] = [
      { name: 'MORPHOGEN_SERVER_ENV', value: config.environment === undefined ? props.profile : normalizeProfile(config.environment) },
      { name: 'MORPHOGEN_SERVER_BIND_ADDR', value: config.bindAddress },
      { name: 'MORPHOGEN_SERVER_MATRIX_FILE', value: config.matrix.file },
      { name: 'MORPHOGEN_SERVER_PAGE_PRG_KEY_0', ...secret(config.prgKeys.secretName, config.prgKeys.key0) },
      { name: 'MORPHOGEN_SERVER_PAGE_PRG_KEY_1', ...secret(config.prgKeys.secretName, config.prgKeys.key1) },
      // Exactly one scans variable: the binary fails at start-up when the
      // unlettered name and an _A_/_B_ name disagree.
      { name: 'MORPHOGEN_SERVER_MAX_CONCURRENT_SCANS', value: String(config.maxConcurrentScans) },
      { name: 'MORPHOGEN_SERVER_MERGE_INTERVAL_MS', value: String(parseDurationMs(config.mergeInterval)) },
      { name: 'RUST_LOG', value: config.logLevel },
    ];
    const gpu = config.gpu;
    if (gpu !== undefined) {
      env.push({ name: 'MORPHOGEN_SERVER_GPU_DEVICE', value: String(gpu.device) });
      env.push({ name: 'MORPHOGEN_SERVER_GPU_PRELOAD', value: String(gpu.preload) });
      if (gpu.streams !== undefined) {
        env.push({ name: 'MORPHOGEN_GPU_STREAMS', value: String(gpu.streams) });
      }
      if (gpu.batchPolicy !== undefined) {
        env.push({ name: 'MORPHOGEN_GPU_BATCH_POLICY', value: gpu.batchPolicy });
      }
    }
    if (config.adminToken !== undefined) {
      env.push({ name: 'MORPHOGEN_ADMIN_BEARER_TOKEN', ...secret(config.adminToken.name, config.adminToken.key) });
    }
    return env;
  }
}
