import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { CodeDataConfig } from '../config/schema';
import { NGINX_COMMAND, NGINX_CONFIG_DIR, codeDataConfig, configChecksum } from './nginx';
import {
  ComponentLabels,
  addService,
  addWorkloadIdentity,
  basePodSpec,
  NGINX_UID,
  checkovSkips,
  container,
  PULL_POLICY_SKIP,
  probe,
  resourceRequirements,
  scratchVolume,
  versionFromImage,
} from './pod-defaults';
import { codeDataReadinessCommand } from './shell-commands';

/** Mount path of the dictionary and cas/ volume in the nginx container. */
export const CODE_DATA_ROOT = '/srv/code-data';

/** Properties of a `CodeData`. */
export interface CodeDataProps {
  /** The validated configuration; `claimName` must be set. */
  readonly config: CodeDataConfig;
  /** Namespace of every object. */
  readonly namespace: string;
  /** nginx image, pinned by digest. */
  readonly image: string;
  /** Cluster DNS domain, for the in-cluster URLs. */
  readonly clusterDomain: string;
}

/**
 * Static file service for the code dictionary and the content-addressed
 * store: nginx serving a read-only volume, as a non-root user.
 */
export class CodeData extends Construct {
  /** Name of the Service and the Deployment. */
  public readonly name = 'morphogen-code-data';
  /** Namespace of every object. */
  public readonly namespace: string;
  /** In-cluster URL of the dictionary file (DICT_URL). */
  public readonly dictionaryUrl: string;
  /** In-cluster URL of the content-addressed store (CAS_URL). */
  public readonly casUrl: string;
  /** Labels that select the code-data pods. */
  public readonly podSelector: Record<string, string>;
  /** Labels of every object of code-data. */
  public readonly labels: Record<string, string>;
  /** Port nginx listens on inside the pod. */
  public readonly port: number;

  constructor(scope: Construct, id: string, props: CodeDataProps) {
    super(scope, id);
    const config = props.config;
    if (config.claimName === undefined) {
      throw new Error('codeData.claimName: required when code-data is enabled');
    }
    this.namespace = props.namespace;
    this.port = config.port;
    const base = `http://${this.name}.${this.namespace}.svc.${props.clusterDomain}`;
    this.dictionaryUrl = `${base}/mainnet_compact.dict`;
    this.casUrl = `${base}/cas`;

    const labels: ComponentLabels = {
      name: 'morphogen-code-data',
      instance: this.name,
      component: 'code-data',
      version: versionFromImage(props.image),
    };
    const { podSelector, metadata } = addWorkloadIdentity(this, labels, this.namespace);
    this.podSelector = podSelector;
    this.labels = metadata.labels;

    const nginxConf = codeDataConfig(config.port, CODE_DATA_ROOT);
    new kplus.k8s.KubeConfigMap(this, 'ConfigMap', { metadata, data: { 'nginx.conf': nginxConf } });

    const nginx = container({
      name: 'nginx',
      image: props.image,
      uid: NGINX_UID,
      command: NGINX_COMMAND,
      ports: [{ name: 'http', containerPort: config.port, protocol: 'TCP' }],
      resources: resourceRequirements(config.resources),
      readinessProbe: probe({ exec: { command: codeDataReadinessCommand(CODE_DATA_ROOT) } }, { periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 }),
      livenessProbe: probe({ httpGet: { path: '/healthz', port: kplus.k8s.IntOrString.fromString('http') } }, { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }),
      startupProbe: probe({ httpGet: { path: '/healthz', port: kplus.k8s.IntOrString.fromString('http') } }, { periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 15 }),
      volumeMounts: [
        { name: 'code-data', mountPath: CODE_DATA_ROOT, readOnly: true },
        { name: 'config', mountPath: NGINX_CONFIG_DIR, readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'cache', mountPath: '/var/cache/nginx' },
      ],
    });

    new kplus.k8s.KubeDeployment(this, 'Deployment', {
      metadata: { ...metadata, annotations: checkovSkips(PULL_POLICY_SKIP) },
      spec: {
        replicas: config.replicas,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: kplus.k8s.IntOrString.fromNumber(1), maxUnavailable: kplus.k8s.IntOrString.fromNumber(0) } },
        minReadySeconds: 5,
        progressDeadlineSeconds: 600,
        revisionHistoryLimit: 5,
        selector: { matchLabels: this.podSelector },
        template: {
          metadata: {
            labels: this.labels,
            annotations: { 'morphogen.io/config-sha256': configChecksum(nginxConf) },
          },
          spec: {
            ...basePodSpec(this.name, NGINX_UID),
            containers: [nginx],
            volumes: [
              { name: 'code-data', persistentVolumeClaim: { claimName: config.claimName, readOnly: true } },
              { name: 'config', configMap: { name: this.name } },
              scratchVolume('tmp'),
              scratchVolume('cache'),
            ],
          },
        },
      },
    });

    addService(this, metadata, this.podSelector, { name: 'http', port: 80 });
  }
}
