import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { EnvironmentConfig, normalizeProfile } from './config/schema';
import { CodeData } from './constructs/code-data';
import { RpcAdapter } from './constructs/rpc-adapter';
import { ServerInstance } from './constructs/server-instance';

/** Properties of a `MorphogenStack`. */
export interface MorphogenStackProps {
  /** One environment's validated configuration, from `parseConfig` or `loadConfigFile`. */
  readonly config: EnvironmentConfig;
}

/**
 * A whole Morphogen environment: the namespaces, PIR servers A and B, the
 * optional code-data service and the RPC adapter, wired in start-up order.
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
    const namespaceOf = (server: { namespace?: string }) => server.namespace ?? config.namespace;

    const namespaces = [...new Set([config.namespace, namespaceOf(config.servers.a), namespaceOf(config.servers.b)])].sort();
    for (const name of namespaces) {
      new kplus.k8s.KubeNamespace(this, `Namespace-${name}`, {
        metadata: {
          name,
          labels: {
            'app.kubernetes.io/part-of': 'morphogen',
            'app.kubernetes.io/managed-by': 'cdk8s',
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/audit': 'restricted',
            'pod-security.kubernetes.io/audit-version': 'latest',
            'pod-security.kubernetes.io/warn': 'restricted',
            'pod-security.kubernetes.io/warn-version': 'latest',
          },
        },
      });
    }

    const serverProps = {
      profile,
      image: config.images.server,
      clusterDomain: config.clusterDomain,
    };
    this.serverA = new ServerInstance(this, 'ServerA', {
      ...serverProps,
      instance: 'a',
      config: config.servers.a,
      namespace: namespaceOf(config.servers.a),
    });
    this.serverB = new ServerInstance(this, 'ServerB', {
      ...serverProps,
      instance: 'b',
      config: config.servers.b,
      namespace: namespaceOf(config.servers.b),
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
      waitImage: config.images.server,
      nginxImage: config.images.nginx,
      serverA: this.serverA,
      serverB: this.serverB,
      codeData: this.codeData,
    });
  }
}
