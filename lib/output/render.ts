import { App, Chart } from 'cdk8s';
import { stringify } from 'yaml';
import { EnvironmentConfig } from '../config/schema';
import { MorphogenStack } from '../stack';

/** A Kubernetes object as plain JSON. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
};

/** Output files of one environment: file name to YAML text. */
export type RenderedFiles = Map<string, string>;

/** Synthesizes the objects of one environment, in construct order. */
export function synthesizeManifests(config: EnvironmentConfig): Manifest[] {
  const app = new App({ outdir: '/nonexistent' });
  const chart = new Chart(app, config.name, { disableResourceNameHashes: true });
  new MorphogenStack(chart, 'Morphogen', { config });
  return chart.toJson() as Manifest[];
}

/**
 * Returns the file an object belongs to: one per component, named after its
 * app.kubernetes.io/instance label without the `morphogen-` prefix.
 */
export function fileFor(manifest: Manifest): string {
  const instance = manifest.metadata.labels?.['app.kubernetes.io/instance'];
  if (instance === undefined) {
    throw new Error(`${manifest.kind}/${manifest.metadata.name} has no app.kubernetes.io/instance label, so it belongs to no output file`);
  }
  return `${instance.replace(/^morphogen-/, '')}.yaml`;
}

function toYaml(manifests: Manifest[]): string {
  return manifests
    .map((manifest) => stringify(manifest, { lineWidth: 0, minContentWidth: 0 }))
    .join('---\n');
}

/** Renders one environment into its files, including kustomization.yaml. */
export function renderEnvironment(config: EnvironmentConfig): RenderedFiles {
  const groups = new Map<string, Manifest[]>();
  for (const manifest of synthesizeManifests(config)) {
    const file = fileFor(manifest);
    groups.set(file, [...(groups.get(file) ?? []), manifest]);
  }

  const files: RenderedFiles = new Map();
  const names = [...groups.keys()].sort();
  for (const name of names) {
    files.set(name, toYaml(groups.get(name)!));
  }
  files.set('kustomization.yaml', stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: names,
  }));
  return files;
}
