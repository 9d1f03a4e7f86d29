#!/usr/bin/env node
// npm run bench -- <name> [args]: runs one benchmark of the dispatch table below. Each benchmark
// is a module in this folder exporting `run(args)`; it prints its figures and writes
// bench-results/<name>.json at the repository root. Add a benchmark with one line here.
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as path from 'node:path';

const BENCHMARKS = {
  inventory: './inventory.mjs', // 2,000-VM inventory: full typed retrieval, power-off → cache lag
  codec: './codec.mjs', // chunk codecs on the OS image: ratio, CPU-s per GiB (compress, decompress), SHA-256
  transfer: './transfer.mjs', // disk transfer on the lab WAN: hdm vs rsync-ssh, scp, nc (--quick: 64 MiB, one link)
};

const [name, ...args] = process.argv.slice(2);
const entry = BENCHMARKS[name];
if (!entry) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHMARKS).join('|')}> [args]`);
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const mod = await import(pathToFileURL(path.join(here, entry)).href);
try {
  await mod.run(args);
} catch (e) {
  console.error(`bench ${name}: ${e?.stack ?? e}`);
  process.exit(1);
}
