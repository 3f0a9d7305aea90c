import * as kplus from 'cdk8s-plus-27';
import { ContainerResourcesConfig } from '../config/schema';

export type Container = kplus.k8s.Container;
export type PodSecurityContext = kplus.k8s.PodSecurityContext;
export type ResourceRequirements = kplus.k8s.ResourceRequirements;

/** uid and gid of the `morphogen` user in the server and adapter images. */
export const MORPHOGEN_UID = 10001;

/** uid and gid of the `nginx` user in the official nginx Alpine image. */
export const NGINX_UID = 101;

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

/** Every label a component's objects carry. */
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

/** A container with the fields every container here sets explicitly. */
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
