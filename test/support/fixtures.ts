import { join } from 'node:path';
import { loadConfigFile, parseConfig } from '../../lib/config/load';
import { EnvironmentConfig, EnvironmentInput } from '../../lib/config/schema';
import { Manifest, synthesizeManifests } from '../../lib/output/render';

export const REPO_ROOT = join(__dirname, '..', '..');
export const EXAMPLE_CONFIG = join(REPO_ROOT, 'config', 'example.yaml');

export const SERVER_IMAGE = 'registry.example.com/morphogen-server@sha256:' + '1'.repeat(64);
export const ADAPTER_IMAGE = 'registry.example.com/morphogen-rpc-adapter@sha256:' + '2'.repeat(64);

/** Returns a small valid prod configuration, with `patch` applied to it. */
export function minimalInput(patch: (input: Record<string, any>) => void = () => {}): EnvironmentInput {
  const input: Record<string, any> = {
    name: 'unit',
    profile: 'prod',
    namespace: 'morphogen-unit',
    images: { server: SERVER_IMAGE, adapter: ADAPTER_IMAGE },
    servers: {
      a: { matrix: { claimName: 'matrix-a', size: '10Gi' }, prgKeys: { secretName: 'prg-a' } },
      b: { matrix: { claimName: 'matrix-b', size: '10Gi' }, prgKeys: { secretName: 'prg-b' } },
    },
    adapter: {
      upstreamRpc: { secretKeyRef: { name: 'upstream', key: 'url' } },
      dictUrl: 'https://code.example.net/mainnet_compact.dict',
      casUrl: 'https://code.example.net/cas',
    },
  };
  patch(input);
  return input as EnvironmentInput;
}

export function configOf(patch?: (input: Record<string, any>) => void): EnvironmentConfig {
  return parseConfig(minimalInput(patch));
}

export function exampleConfig(): EnvironmentConfig {
  return loadConfigFile(EXAMPLE_CONFIG, {});
}

/** The objects of one environment, with lookups by kind and name. */
export class Objects {
  readonly all: Manifest[];

  constructor(config: EnvironmentConfig) {
    this.all = synthesizeManifests(config);
  }

  find(kind: string, name: string): any {
    const found = this.all.filter((m) => m.kind === kind && m.metadata.name === name);
    if (found.length !== 1) {
      throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
    }
    return found[0];
  }

  ofKind(kind: string): any[] {
    return this.all.filter((m) => m.kind === kind);
  }

  podSpec(deployment: string): any {
    return this.find('Deployment', deployment).spec.template.spec;
  }

  container(deployment: string, name: string): any {
    const spec = this.podSpec(deployment);
    const found = [...spec.containers, ...(spec.initContainers ?? [])].find((c: any) => c.name === name);
    if (found === undefined) {
      throw new Error(`no container ${name} in ${deployment}`);
    }
    return found;
  }
}

/** Looks up an env var of a container by name. */
export function envOf(container: any, name: string): any {
  return (container.env ?? []).find((e: any) => e.name === name);
}
