// Validates Kubernetes objects against the OpenAPI schema with
// kubernetes-models. The package is ESM-only, so it runs in its own Node
// process: JSON array of objects on stdin, JSON array of
// {object, error} problems on stdout.
import { readFileSync } from 'node:fs';

// Custom resources come from the maintained model packages of their
// projects; everything else from kubernetes-models.
const PACKAGES = { 'monitoring.coreos.com': '@kubernetes-models/prometheus-operator' };

function modulePath(apiVersion, kind) {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return `${PACKAGES[group] ?? 'kubernetes-models'}/${apiVersion}/${kind}`;
}

const objects = JSON.parse(readFileSync(0, 'utf8'));
const problems = [];
for (const object of objects) {
  const name = `${object.apiVersion} ${object.kind} ${object.metadata?.namespace ?? ''}/${object.metadata?.name}`;
  let Model;
  try {
    Model = (await import(modulePath(object.apiVersion, object.kind)))[object.kind];
  } catch (error) {
    problems.push({ object: name, error: `no kubernetes-models schema: ${error.message}` });
    continue;
  }
  try {
    new Model(object).validate();
  } catch (error) {
    problems.push({ object: name, error: error.message });
  }
}
process.stdout.write(JSON.stringify(problems));
