import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';
import { ContainerResourcesConfig } from '../config/schema';

export type Container = kplus.k8s.Container;
export type PodSecurityContext = kplus.k8s.PodSecurityContext;
export type ResourceRequirements = kplus.k8s.ResourceRequirements;

/** uid and gid of the `morphogen` user in the server and adapter images. */
export const MORPHOGEN_UID = 10001;

/**
 * uid and gid of the nginx containers. The image's own `nginx` user is 101,
 * but Checkov asks for 10000 or above so the uid is unlikely to match a
 * user of the node. nginx owns none of the image's files at this uid, which
 * works because it writes only to emptyDir mounts.
 */
export const NGINX_UID = 10101;

/**
 * Checkov checks skipped on the Deployments, with the reason, in the
 * annotation form Checkov reads (`checkov.io/skipN: ID=reason`).
 */
export function checkovSkips(skips: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(skips).map(([id, reason], index) => [`checkov.io/skip${index + 1}`, `${id}=${reason}`]));
}

/** Reason for skipping Checkov's "pull policy Always" check. */
export const PULL_POLICY_SKIP = {
  CKV_K8S_15: 'images are pinned by digest, so a cached image is the same image and Always would only add a registry dependency to every restart',
};

/** Reason for skipping Checkov's "secrets as files" check. */
export const SECRET_ENV_SKIP = {
  CKV_K8S_35: 'the Morphogen binaries read their keys and URLs from environment variables only; the values come from secretKeyRef',
};

/** The app.kubernetes.io labels of one component. */
export interface ComponentLabels {
  /** `app.kubernetes.io/name`, for example `morphogen-server`. */
  readonly name: string;
  /** `app.kubernetes.io/instance`, unique per workload, for example `morphogen-server-a`. */
  readonly instance: string;
  /** `app.kubernetes.io/component`, for example `pir-server`. */
  readonly component: string;
  /** `app.kubernetes.io/version`, derived from the image reference. */
  readonly version: string;
}

/** Labels that select a component's pods. They leave out version, because selectors are immutable. */
export function selectorLabels(labels: ComponentLabels): Record<string, string> {
  return {
    'app.kubernetes.io/name': labels.name,
    'app.kubernetes.io/instance': labels.instance,
    'app.kubernetes.io/component': labels.component,
    'app.kubernetes.io/part-of': 'morphogen',
  };
}

/** Returns every label a component's objects carry. */
export function commonLabels(labels: ComponentLabels): Record<string, string> {
  return {
    ...selectorLabels(labels),
    'app.kubernetes.io/version': labels.version,
    'app.kubernetes.io/managed-by': 'cdk8s',
  };
}

/**
 * Derives a label-safe version from an image reference: the tag when there
 * is one, otherwise the first 12 hex digits of the digest.
 */
export function versionFromImage(image: string): string {
  const [name, digest] = image.split('@');
  const tag = name.slice(name.lastIndexOf('/') + 1).split(':')[1];
  if (tag !== undefined && /^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/.test(tag)) {
    return tag;
  }
  if (digest !== undefined) {
    return `sha256-${digest.replace(/^sha256:/, '').slice(0, 12)}`;
  }
  return 'unversioned';
}

/** Pod-level security context of the Pod Security Standards "restricted" profile. */
export function restrictedPodSecurityContext(uid: number): PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    fsGroup: uid,
    // Volumes of tens of GB would be walked file by file at every start with
    // the default policy Always.
    fsGroupChangePolicy: 'OnRootMismatch',
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level security context of the "restricted" profile, with a read-only root filesystem. */
export function restrictedContainerSecurityContext(uid: number): kplus.k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Converts configured requests and limits into the container field. */
export function resourceRequirements(resources: ContainerResourcesConfig): ResourceRequirements {
  const quantity = (value: string) => kplus.k8s.Quantity.fromString(value);
  return {
    requests: { cpu: quantity(resources.cpuRequest), memory: quantity(resources.memoryRequest) },
    limits: { cpu: quantity(resources.cpuLimit), memory: quantity(resources.memoryLimit) },
  };
}

/** Builds a container with the fields every container here sets explicitly. */
export function container(props: {
  name: string;
  image: string;
  uid: number;
  resources: ResourceRequirements;
} & Omit<Container, 'name' | 'image' | 'resources' | 'securityContext' | 'imagePullPolicy'>): Container {
  const { uid, ...rest } = props;
  return {
    ...rest,
    // Images are pinned by digest, so a cached copy is always the right one.
    imagePullPolicy: 'IfNotPresent',
    securityContext: restrictedContainerSecurityContext(uid),
  };
}

/** Probe timing in seconds, every field explicit so no API default applies. */
export interface ProbeTiming {
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  readonly failureThreshold: number;
  readonly initialDelaySeconds?: number;
}

/** Completes a probe handler with explicit timing. */
export function probe(handler: Pick<kplus.k8s.Probe, 'exec' | 'httpGet' | 'tcpSocket'>, timing: ProbeTiming): kplus.k8s.Probe {
  return {
    ...handler,
    initialDelaySeconds: timing.initialDelaySeconds ?? 0,
    periodSeconds: timing.periodSeconds,
    timeoutSeconds: timing.timeoutSeconds,
    failureThreshold: timing.failureThreshold,
    successThreshold: 1,
  };
}

/** Pod spec fields every workload here shares: its own ServiceAccount without token, no service links, restricted security context. */
export function basePodSpec(serviceAccountName: string, uid: number): Partial<kplus.k8s.PodSpec> {
  return {
    serviceAccountName,
    automountServiceAccountToken: false,
    // Service links would inject MORPHOGEN_SERVER_A_* and _B_* variables
    // into every pod of the namespace, names the server binary treats as
    // its own configuration.
    enableServiceLinks: false,
    securityContext: restrictedPodSecurityContext(uid),
    terminationGracePeriodSeconds: 30,
  };
}

/** Builds a size-limited emptyDir volume for the paths a process writes under a read-only root. */
export function scratchVolume(name: string): kplus.k8s.Volume {
  return { name, emptyDir: { sizeLimit: kplus.k8s.Quantity.fromString('64Mi') } };
}

/** Spreads a workload's replicas over nodes without blocking scheduling on small clusters. */
export function spreadOverNodes(podSelector: Record<string, string>): kplus.k8s.TopologySpreadConstraint {
  return { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: podSelector } };
}

/**
 * Emits a PodDisruptionBudget that lets one pod go at a time. With the
 * AlwaysAllow policy, unhealthy pods (crash-looping, or a server still
 * loading its matrix) can be evicted, so they do not block a node drain.
 */
export function addDisruptionBudget(scope: Construct, metadata: kplus.k8s.ObjectMeta, podSelector: Record<string, string>): void {
  new kplus.k8s.KubePodDisruptionBudget(scope, 'PodDisruptionBudget', {
    metadata,
    spec: {
      maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
      selector: { matchLabels: podSelector },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}

/** Emits a Service with one named TCP port that targets the pod port of the same name. */
export function addService(scope: Construct, metadata: kplus.k8s.ObjectMeta, podSelector: Record<string, string>, port: { name: string; port: number }, extra: Partial<kplus.k8s.ServiceSpec> = {}): void {
  new kplus.k8s.KubeService(scope, 'Service', {
    metadata,
    spec: {
      type: 'ClusterIP',
      ...extra,
      selector: podSelector,
      ports: [{ name: port.name, port: port.port, targetPort: kplus.k8s.IntOrString.fromString(port.name), protocol: 'TCP' }],
    },
  });
}

/** Labels, selector and metadata that every object of one workload shares. */
export interface WorkloadIdentity {
  /** Labels that select the workload's pods; they leave out version. */
  readonly podSelector: Record<string, string>;
  /** Every label of the workload's objects and pods. */
  readonly labels: Record<string, string>;
  /** Metadata of the workload's objects, named after its instance label. */
  readonly metadata: { name: string; namespace: string; labels: Record<string, string> };
}

/**
 * Emits the workload's own ServiceAccount, without a token, and returns the
 * labels and metadata its other objects use.
 */
export function addWorkloadIdentity(scope: Construct, labels: ComponentLabels, namespace: string): WorkloadIdentity {
  const identity: WorkloadIdentity = {
    podSelector: selectorLabels(labels),
    labels: commonLabels(labels),
    metadata: { name: labels.instance, namespace, labels: commonLabels(labels) },
  };
  new kplus.k8s.KubeServiceAccount(scope, 'ServiceAccount', { metadata: identity.metadata, automountServiceAccountToken: false });
  return identity;
}
