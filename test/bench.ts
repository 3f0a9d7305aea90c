// Measures how long synth takes and how much memory it uses, per
// environment in config/, and prints the figures. Run with `npm run bench`.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { configFilesIn } from '../lib/cli';
import { loadConfigFile } from '../lib/config/load';
import { renderEnvironment } from '../lib/output/render';

const ROUNDS = 20;
const root = join(__dirname, '..');

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${ROUNDS} rounds each`);
console.log('environment                  load+validate ms   render ms   output bytes');
for (const file of configFilesIn(join(root, 'config'))) {
  const loads: number[] = [];
  const renders: number[] = [];
  let bytes = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const loadStart = performance.now();
    const config = loadConfigFile(file, {});
    loads.push(performance.now() - loadStart);

    const renderStart = performance.now();
    const files = renderEnvironment(config);
    renders.push(performance.now() - renderStart);
    bytes = [...files.values()].reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  }
  const name = file.slice(root.length + 1).padEnd(28);
  console.log(`${name} ${median(loads).toFixed(2).padStart(16)} ${median(renders).toFixed(2).padStart(11)} ${String(bytes).padStart(14)}`);
}
const memory = process.memoryUsage();
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MiB, heap used ${(memory.heapUsed / 2 ** 20).toFixed(1)} MiB`);
