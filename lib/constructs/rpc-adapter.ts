import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { AdapterConfig, Profile } from '../config/schema';
import { parseDurationSeconds } from '../config/units';
import { CodeData } from './code-data';
import { NGINX_COMMAND, NGINX_CONFIG_DIR, configChecksum, forwarderConfig } from './nginx';
import {
  ComponentLabels,
  addDisruptionBudget,
  addService,
  addWorkloadIdentity,
  basePodSpec,
  MORPHOGEN_UID,
  NGINX_UID,
  checkovSkips,
  container,
  PULL_POLICY_SKIP,
  SECRET_ENV_SKIP,
  probe,
  resourceRequirements,
  scratchVolume,
  spreadOverNodes,
  versionFromImage,
} from './pod-defaults';
import { ServerInstance } from './server-instance';
import {
  WaitTiming,
  rpcLivenessCommand,
  rpcReadinessCommand,
  waitForDictionaryCommand,
  waitForServerCommand,
} from './shell-commands';

/** Name of the forwarder's container port and of the adapter Service port. */
export const RPC_PORT_NAME = 'json-rpc';

/** Properties of an `RpcAdapter`. */
export interface RpcAdapterProps {
  /** The validated adapter configuration. */
  readonly config: AdapterConfig;
  /** Profile passed as --environment. */
  readonly profile: Profile;
  /** Namespace of every object. */
  readonly namespace: string;
  /** morphogen-rpc-adapter image, pinned by digest. */
  readonly image: string;
  /** Image of the wait init containers; it needs sh and curl, which the adapter and server images have. */
  readonly waitImage: string;
  /** Image of the forwarder sidecar. */
  readonly nginxImage: string;
  /** PIR server A. */
  readonly serverA: ServerInstance;
  /** PIR server B. */
  readonly serverB: ServerInstance;
  /** The in-cluster code-data service, when enabled. */
  readonly codeData?: CodeData;
}

/**
 * The Ethereum JSON-RPC adapter. It listens on 127.0.0.1 only, so its
 * probes run inside the container and a forwarder sidecar publishes it on
 * the pod IP for the Service.
 */
export class RpcAdapter extends Construct {
  /** Name of the Deployment, Service, ServiceAccount and ConfigMap. */
  public readonly name = 'morphogen-rpc-adapter';
  /** Namespace of every object. */
  public readonly namespace: string;
  /** Labels that select the adapter pods. */
  public readonly podSelector: Record<string, string>;
  /** Labels of every object of the adapter. */
  public readonly labels: Record<string, string>;
  /** Port of the forwarder on the pod IP. */
  public readonly forwarderPort: number;

  constructor(scope: Construct, id: string, props: RpcAdapterProps) {
    super(scope, id);
    const config = props.config;
    this.namespace = props.namespace;
    this.forwarderPort = config.forwarderPort;

    const labels: ComponentLabels = {
      name: 'morphogen-rpc-adapter',
      instance: this.name,
      component: 'rpc-adapter',
      version: versionFromImage(props.image),
    };
    const { podSelector, metadata } = addWorkloadIdentity(this, labels, this.namespace);
    this.podSelector = podSelector;
    this.labels = metadata.labels;

    const upstreamTimeout = parseDurationSeconds(config.upstreamTimeout);
    const nginxConf = forwarderConfig(config.forwarderPort, config.port, upstreamTimeout + 10);
    new kplus.k8s.KubeConfigMap(this, 'ConfigMap', { metadata, data: { 'nginx.conf': nginxConf } });

    const loopbackUrl = `http://127.0.0.1:${config.port}/`;
    const adapter = container({
      name: 'rpc-adapter',
      image: props.image,
      uid: MORPHOGEN_UID,
      args: this.args(props),
      env: this.environment(props),
      resources: resourceRequirements(config.resources),
      // web3_clientVersion is forwarded upstream, so readiness follows the
      // upstream: curl waits the upstream timeout plus 2 s and the kubelet
      // 3 s longer, so curl's own message reaches the probe log.
      readinessProbe: probe(
        { exec: { command: rpcReadinessCommand(loopbackUrl, upstreamTimeout + 2) } },
        { periodSeconds: 10, timeoutSeconds: upstreamTimeout + 5, failureThreshold: 3 },
      ),
      livenessProbe: probe(
        { exec: { command: rpcLivenessCommand(loopbackUrl, 3) } },
        { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
      ),
      startupProbe: probe(
        { exec: { command: rpcLivenessCommand(loopbackUrl, 3) } },
        { periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 60 },
      ),
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    });

    const forwarder = container({
      name: 'rpc-forwarder',
      image: props.nginxImage,
      uid: NGINX_UID,
      command: NGINX_COMMAND,
      ports: [{ name: RPC_PORT_NAME, containerPort: config.forwarderPort, protocol: 'TCP' }],
      resources: resourceRequirements(config.forwarderResources),
      readinessProbe: probe(
        { httpGet: { path: '/healthz', port: kplus.k8s.IntOrString.fromString(RPC_PORT_NAME) } },
        { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
      ),
      livenessProbe: probe(
        { httpGet: { path: '/healthz', port: kplus.k8s.IntOrString.fromString(RPC_PORT_NAME) } },
        { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 },
      ),
      volumeMounts: [
        { name: 'forwarder-config', mountPath: NGINX_CONFIG_DIR, readOnly: true },
        { name: 'forwarder-tmp', mountPath: '/tmp' },
        { name: 'forwarder-cache', mountPath: '/var/cache/nginx' },
      ],
    });

    const spread = config.replicas > 1;

    new kplus.k8s.KubeDeployment(this, 'Deployment', {
      metadata: { ...metadata, annotations: checkovSkips({ ...PULL_POLICY_SKIP, ...SECRET_ENV_SKIP }) },
      spec: {
        replicas: config.replicas,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: kplus.k8s.IntOrString.fromNumber(1), maxUnavailable: kplus.k8s.IntOrString.fromNumber(0) } },
        minReadySeconds: 5,
        // Covers a full wait for the servers before the first pod is ready.
        progressDeadlineSeconds: 2 * parseDurationSeconds(config.wait.timeout) + 300,
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: {
            labels: this.labels,
            annotations: { 'morphogen.io/forwarder-config-sha256': configChecksum(nginxConf) },
          },
          spec: {
            ...basePodSpec(this.name, MORPHOGEN_UID),
            initContainers: this.initContainers(props),
            containers: [adapter, forwarder],
            topologySpreadConstraints: spread ? [spreadOverNodes(this.podSelector)] : undefined,
            volumes: [
              scratchVolume('tmp'),
              { name: 'forwarder-config', configMap: { name: this.name } },
              scratchVolume('forwarder-tmp'),
              scratchVolume('forwarder-cache'),
            ],
          },
        },
      },
    });

    addService(this, metadata, this.podSelector, { name: RPC_PORT_NAME, port: config.service.port }, {
      type: config.service.type,
      loadBalancerSourceRanges: config.service.type === 'LoadBalancer' && config.service.loadBalancerSourceRanges.length > 0
        ? [...config.service.loadBalancerSourceRanges]
        : undefined,
    });

    if (spread) {
      addDisruptionBudget(this, metadata, this.podSelector);
    }
  }

  private args(props: RpcAdapterProps): string[] {
    const config = props.config;
    const args = [
      '--port', String(config.port),
      '--pir-server-a', props.serverA.url,
      '--pir-server-b', props.serverB.url,
      '--environment', props.profile,
      '--refresh-interval', String(parseDurationSeconds(config.refreshInterval)),
      '--upstream-timeout', String(parseDurationSeconds(config.upstreamTimeout)),
      '--otel-env', config.otel.env,
    ];
    if (config.txRelayUrl !== undefined) {
      args.push('--tx-relay', config.txRelayUrl);
    }
    if (config.otel.traces) {
      args.push('--otel-traces');
    }
    if (config.otel.endpoint !== undefined) {
      args.push('--otel-endpoint', config.otel.endpoint);
    }
    if (config.otel.serviceName !== undefined) {
      args.push('--otel-service-name', config.otel.serviceName);
    }
    if (config.otel.version !== undefined) {
      args.push('--otel-version', config.otel.version);
    }
    if (config.fallbackToUpstream) {
      args.push('--fallback-to-upstream');
    }
    if (config.allowPrivacyDegradedFallback) {
      args.push('--allow-privacy-degraded-fallback');
    }
    return args;
  }

  private environment(props: RpcAdapterProps): kplus.k8s.EnvVar[] {
    const config = props.config;
    const upstream: kplus.k8s.EnvVar = 'url' in config.upstreamRpc
      ? { name: 'UPSTREAM_RPC_URL', value: config.upstreamRpc.url }
      : { name: 'UPSTREAM_RPC_URL', valueFrom: { secretKeyRef: { name: config.upstreamRpc.secretKeyRef.name, key: config.upstreamRpc.secretKeyRef.key } } };
    const dictUrl = config.dictUrl ?? props.codeData?.dictionaryUrl;
    const casUrl = config.casUrl ?? props.codeData?.casUrl;
    if (dictUrl === undefined || casUrl === undefined) {
      throw new Error('adapter.dictUrl and adapter.casUrl: required unless codeData is enabled');
    }
    return [
      upstream,
      { name: 'DICT_URL', value: dictUrl },
      { name: 'CAS_URL', value: casUrl },
      { name: 'RUST_LOG', value: config.logLevel },
    ];
  }

  private initContainers(props: RpcAdapterProps): kplus.k8s.Container[] {
    const wait = props.config.wait;
    const timing: WaitTiming = {
      attemptSeconds: parseDurationSeconds(wait.attemptTimeout),
      intervalSeconds: parseDurationSeconds(wait.interval),
      timeoutSeconds: parseDurationSeconds(wait.timeout),
    };
    const waitContainer = (name: string, command: string[]) => container({
      name,
      image: props.waitImage,
      uid: MORPHOGEN_UID,
      command,
      resources: resourceRequirements(props.config.waitResources),
    });

    const waits = [
      waitContainer('wait-for-server-a', waitForServerCommand('server-a', props.serverA.url, timing)),
      waitContainer('wait-for-server-b', waitForServerCommand('server-b', props.serverB.url, timing)),
    ];
    if (props.codeData !== undefined) {
      const dictUrl = props.config.dictUrl ?? props.codeData.dictionaryUrl;
      waits.unshift(waitContainer('wait-for-code-data', waitForDictionaryCommand('code-data', dictUrl, timing)));
    }
    return waits;
  }
}
