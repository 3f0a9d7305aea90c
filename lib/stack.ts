import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { EnvironmentConfig, normalizeProfile, serverNamespace } from './config/schema';
import { CodeData } from './constructs/code-data';
import { WorkloadNetworkPolicy, defaultDenyPolicy, toPeer, workloadPeer } from './constructs/network-policies';
import { RpcAdapter } from './constructs/rpc-adapter';
import { ServerInstance } from './constructs/server-instance';

/** Labels of the objects every namespace of the stack gets: the Namespace itself and its default deny. */
const NAMESPACE_LABELS = {
  'app.kubernetes.io/name': 'morphogen',
  'app.kubernetes.io/instance': 'morphogen-namespaces',
  'app.kubernetes.io/component': 'namespace',
  'app.kubernetes.io/part-of': 'morphogen',
  'app.kubernetes.io/managed-by': 'cdk8s',
};

const RESTRICTED_POD_SECURITY = {
  'pod-security.kubernetes.io/enforce': 'restricted',
  'pod-security.kubernetes.io/enforce-version': 'latest',
  'pod-security.kubernetes.io/audit': 'restricted',
  'pod-security.kubernetes.io/audit-version': 'latest',
  'pod-security.kubernetes.io/warn': 'restricted',
  'pod-security.kubernetes.io/warn-version': 'latest',
};

/** Properties of a `MorphogenStack`. */
export interface MorphogenStackProps {
  /** One environment's validated configuration, from `parseConfig` or `loadConfigFile`. */
  readonly config: EnvironmentConfig;
}

/**
 * A whole Morphogen environment: the namespaces, PIR servers A and B, the
 * optional code-data service and the RPC adapter, wired in start-up order,
 * with NetworkPolicies that leave only the paths between them open.
 */
export class MorphogenStack extends Construct {
  /** PIR server A. */
  public readonly serverA: ServerInstance;
  /** PIR server B. */
  public readonly serverB: ServerInstance;
  /** The code-data service, when enabled. */
  public readonly codeData?: CodeData;
  /** The RPC adapter. */
  public readonly adapter: RpcAdapter;

  constructor(scope: Construct, id: string, props: MorphogenStackProps) {
    super(scope, id);
    const config = props.config;
    const profile = normalizeProfile(config.profile);
    const namespaceA = serverNamespace(config, 'a');
    const namespaceB = serverNamespace(config, 'b');
    const dns = config.networkPolicy.dns;

    const namespaces = [...new Set([config.namespace, namespaceA, namespaceB])].sort();
    for (const name of namespaces) {
      new kplus.k8s.KubeNamespace(this, `Namespace-${name}`, {
        metadata: { name, labels: { ...NAMESPACE_LABELS, ...RESTRICTED_POD_SECURITY } },
      });
    }
    if (config.networkPolicy.enabled) {
      for (const name of namespaces) {
        defaultDenyPolicy(this, `DefaultDeny-${name}`, name, NAMESPACE_LABELS, dns);
      }
    }

    const serverProps = {
      profile,
      image: config.images.server,
      clusterDomain: config.clusterDomain,
      topologyKey: config.isolation.topologyKey,
      antiAffinity: config.isolation.antiAffinity ?? (profile === 'prod' ? 'required' : 'preferred'),
      serviceMonitor: config.metrics.serviceMonitor,
    };
    this.serverA = new ServerInstance(this, 'ServerA', {
      ...serverProps,
      instance: 'a',
      config: config.servers.a,
      namespace: namespaceA,
      peerNamespace: namespaceB,
    });
    this.serverB = new ServerInstance(this, 'ServerB', {
      ...serverProps,
      instance: 'b',
      config: config.servers.b,
      namespace: namespaceB,
      peerNamespace: namespaceA,
    });

    if (config.codeData.enabled) {
      this.codeData = new CodeData(this, 'CodeData', {
        config: config.codeData,
        namespace: config.namespace,
        image: config.images.nginx,
        clusterDomain: config.clusterDomain,
      });
    }

    this.adapter = new RpcAdapter(this, 'RpcAdapter', {
      config: config.adapter,
      profile,
      namespace: config.namespace,
      image: config.images.adapter,
      waitImage: config.images.adapter,
      nginxImage: config.images.nginx,
      serverA: this.serverA,
      serverB: this.serverB,
      codeData: this.codeData,
    });

    if (config.networkPolicy.enabled) {
      this.addNetworkPolicies(config);
    }
  }

  /**
   * Opens only the paths the data flow needs: clients to the adapter, the
   * adapter to A, B and code-data, the metrics scraper to the servers.
   * Nothing admits A to B or B to A.
   */
  private addNetworkPolicies(config: EnvironmentConfig): void {
    const dns = config.networkPolicy.dns;
    const adapterPods = workloadPeer({ namespace: this.adapter.namespace, podSelector: this.adapter.podSelector, port: this.adapter.forwarderPort });
    const scraper = config.metrics.scraper === undefined ? [] : [toPeer(config.metrics.scraper)];

    for (const server of [this.serverA, this.serverB]) {
      new WorkloadNetworkPolicy(server, 'NetworkPolicy', {
        metadata: { name: server.name, namespace: server.namespace, labels: server.labels },
        podSelector: server.podSelector,
        ingress: [{ from: [adapterPods, ...scraper], port: server.port }],
        egressTo: [],
        egressRules: [],
        dns,
      });
    }

    if (this.codeData !== undefined) {
      new WorkloadNetworkPolicy(this.codeData, 'NetworkPolicy', {
        metadata: { name: this.codeData.name, namespace: this.codeData.namespace, labels: this.codeData.labels },
        podSelector: this.codeData.podSelector,
        ingress: [{ from: [adapterPods], port: this.codeData.port }],
        egressTo: [],
        egressRules: [],
        dns,
      });
    }

    const backends = [this.serverA, this.serverB, ...(this.codeData === undefined ? [] : [this.codeData])];
    new WorkloadNetworkPolicy(this.adapter, 'NetworkPolicy', {
      metadata: { name: this.adapter.name, namespace: this.adapter.namespace, labels: this.adapter.labels },
      podSelector: this.adapter.podSelector,
      ingress: [{ from: config.adapter.clients.map(toPeer), port: this.adapter.forwarderPort }],
      egressTo: backends.map((backend) => ({ namespace: backend.namespace, podSelector: backend.podSelector, port: backend.port })),
      egressRules: config.adapter.egress,
      dns,
    });
  }
}
