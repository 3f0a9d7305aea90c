import { EnvironmentConfig, normalizeProfile } from './schema';

/**
 * Things that are valid but probably not what the operator wants, printed
 * as warnings at synth time. None of them contains a secret value.
 */
export function configWarnings(config: EnvironmentConfig, env: Record<string, string | undefined>): string[] {
  const warnings: string[] = [];
  const adapter = config.adapter;

  if (adapter.fallbackToUpstream) {
    warnings.push('adapter.fallbackToUpstream is on: when PIR fails, the adapter sends user addresses to the upstream provider, which ends their privacy');
  }
  if ((env.UPSTREAM_RPC_URL ?? '') !== '') {
    const where = 'secretKeyRef' in adapter.upstreamRpc
      ? `Secret ${adapter.upstreamRpc.secretKeyRef.name}, key ${adapter.upstreamRpc.secretKeyRef.key}`
      : 'a Secret named by adapter.upstreamRpc.secretKeyRef';
    warnings.push(`UPSTREAM_RPC_URL is set but not written to the manifests, because provider URLs embed API keys; store it in ${where}`);
  }
  if ('url' in adapter.upstreamRpc && normalizeProfile(config.profile) === 'prod') {
    warnings.push('adapter.upstreamRpc.url is written to the manifests in plain text; if the URL carries an API key, use adapter.upstreamRpc.secretKeyRef');
  }
  if (config.networkPolicy.enabled && adapter.clients.length === 0) {
    warnings.push('adapter.clients is empty, so the NetworkPolicy admits no client to the adapter; list the callers\' namespace or pod labels');
  }
  if (config.networkPolicy.enabled && adapter.egress.length === 0) {
    warnings.push('adapter.egress is empty, so the adapter cannot reach the upstream RPC, tx relay or external dictionary/CAS; add their address ranges and ports');
  }
  if (normalizeProfile(config.profile) === 'prod') {
    if (config.isolation.separateNamespaces === false) {
      warnings.push('isolation.separateNamespaces is false in prod, so servers A and B share a namespace and its administrators');
    }
    if (config.isolation.antiAffinity === 'preferred') {
      warnings.push('isolation.antiAffinity is preferred in prod, so the scheduler may place A and B in one failure and trust domain');
    }
    if (!config.networkPolicy.enabled) {
      warnings.push('networkPolicy.enabled is false in prod, so nothing keeps other pods, or one server, from reaching the servers');
    }
  }
  if ((env.MORPHOGEN_SERVER_IMAGE ?? '') !== '' && (config.servers.a.gpu !== undefined || config.servers.b.gpu !== undefined)) {
    warnings.push('MORPHOGEN_SERVER_IMAGE replaces images.server of an environment whose servers run in GPU mode; make sure it is a GPU build');
  }
  return warnings;
}
