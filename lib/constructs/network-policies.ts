import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

type NetworkPolicyPeer = kplus.k8s.NetworkPolicyPeer;
type NetworkPolicyPort = kplus.k8s.NetworkPolicyPort;

/** A peer as the configuration states it. */
export interface PeerConfig {
  readonly namespaceLabels?: Record<string, string>;
  readonly podLabels?: Record<string, string>;
  readonly cidr?: string;
}

/** An egress destination outside the cluster. */
export interface EgressRule {
  readonly cidr: string;
  readonly except: readonly string[];
  readonly ports: readonly number[];
}

/** Pods of one workload, addressable from another namespace. */
export interface WorkloadPeer {
  readonly namespace: string;
  readonly podSelector: Record<string, string>;
  readonly port: number;
}

/** Converts a configured peer; without namespaceLabels it means the policy's own namespace. */
export function toPeer(peer: PeerConfig): NetworkPolicyPeer {
  if (peer.cidr !== undefined) {
    return { ipBlock: { cidr: peer.cidr } };
  }
  return {
    namespaceSelector: peer.namespaceLabels === undefined ? undefined : { matchLabels: { ...peer.namespaceLabels } },
    podSelector: { matchLabels: { ...(peer.podLabels ?? {}) } },
  };
}

/** Selects the pods of a workload in its namespace, by the label every namespace carries since 1.22. */
export function workloadPeer(workload: WorkloadPeer): NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': workload.namespace } },
    podSelector: { matchLabels: { ...workload.podSelector } },
  };
}

function tcp(port: number): NetworkPolicyPort {
  return { protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(port) };
}

/** Egress to cluster DNS on UDP and TCP 53, which every policy with Egress needs. */
export function dnsEgress(dns: PeerConfig): kplus.k8s.NetworkPolicyEgressRule {
  return {
    to: [toPeer(dns)],
    ports: [
      { protocol: 'UDP', port: kplus.k8s.IntOrString.fromNumber(53) },
      { protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(53) },
    ],
  };
}

/** Properties of a `WorkloadNetworkPolicy`. */
export interface WorkloadNetworkPolicyProps {
  readonly metadata: { name: string; namespace: string; labels: Record<string, string> };
  /** Pods the policy applies to. */
  readonly podSelector: Record<string, string>;
  /** Peers allowed to connect, and the port. An empty list admits no peer. */
  readonly ingress: { from: NetworkPolicyPeer[]; port: number }[];
  /** Workloads in the cluster this one calls. */
  readonly egressTo: WorkloadPeer[];
  /** Destinations outside the cluster. */
  readonly egressRules: readonly EgressRule[];
  /** Cluster DNS peer. */
  readonly dns: PeerConfig;
}

/**
 * One workload's NetworkPolicy, with both policy types so that it stays
 * isolated even where the namespace's default deny is removed.
 */
export class WorkloadNetworkPolicy extends Construct {
  constructor(scope: Construct, id: string, props: WorkloadNetworkPolicyProps) {
    super(scope, id);
    new kplus.k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: props.metadata,
      spec: {
        podSelector: { matchLabels: { ...props.podSelector } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: props.ingress
          .filter((rule) => rule.from.length > 0)
          .map((rule) => ({ from: rule.from, ports: [tcp(rule.port)] })),
        egress: [
          dnsEgress(props.dns),
          ...props.egressTo.map((workload) => ({ to: [workloadPeer(workload)], ports: [tcp(workload.port)] })),
          ...props.egressRules.map((rule) => ({
            to: [{ ipBlock: { cidr: rule.cidr, except: rule.except.length > 0 ? [...rule.except] : undefined } }],
            ports: rule.ports.map(tcp),
          })),
        ],
      },
    });
  }
}

/** Denies all ingress and all egress but DNS to every pod of a namespace. */
export function defaultDenyPolicy(scope: Construct, id: string, namespace: string, labels: Record<string, string>, dns: PeerConfig): void {
  new kplus.k8s.KubeNetworkPolicy(scope, id, {
    metadata: { name: 'morphogen-default-deny', namespace, labels },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [],
      egress: [dnsEgress(dns)],
    },
  });
}
