// Codec benchmark (npm run bench -- codec [--file F | --os-image desktop|minbase] [--max-mib N]):
// what each candidate chunk codec does to the OS image's non-zero 4 MiB chunks on one core —
// ratio, compress and decompress CPU-s per GiB of input (process CPU time, one job at a time) —
// plus the per-chunk costs every byte pays anyway (SHA-256, zero check). The figures that the
// CompressionPolicy's levels and its min(rate × 2, link / ratio) choice rest on.
import { createRequire } from 'node:module';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { ensureOsImage, opt } from './transfer.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const MiB = 1 << 20;

function cpuSeconds(fn) {
  const c0 = process.cpuUsage();
  const out = fn();
  const c = process.cpuUsage(c0);
  return { out, s: (c.user + c.system) / 1e6 };
}

export async function run(args) {
  const lz4 = require(path.join(ROOT, 'node_modules/lz4-napi'));
  const file = opt(args, '--file', undefined) ?? ensureOsImage(opt(args, '--os-image', 'desktop'));
  const maxMiB = Number(opt(args, '--max-mib', 1024));
  const fd = fs.openSync(file, 'r');
  const size = fs.statSync(file).size;
  const zero = Buffer.alloc(4 * MiB);
  const chunks = [];
  let zeroBytes = 0;
  for (let at = 0; at < size; at += 4 * MiB) {
    const b = Buffer.allocUnsafe(Math.min(4 * MiB, size - at));
    fs.readSync(fd, b, 0, b.length, at);
    if (b.equals(zero.subarray(0, b.length))) zeroBytes += b.length;
    else chunks.push(b);
  }
  fs.closeSync(fd);
  // An evenly spread subset when the data is larger than --max-mib (keeps the run short).
  const keep = Math.min(chunks.length, Math.floor(maxMiB / 4));
  const sample = Array.from({ length: keep }, (_, i) => chunks[Math.floor((i * chunks.length) / keep)]);
  const bytes = sample.reduce((n, b) => n + b.length, 0);
  const GiB = bytes / (1 << 30);
  console.log(`${path.basename(file)}: ${(size / MiB).toFixed(0)} MiB, zero chunks ${(zeroBytes / MiB).toFixed(0)} MiB, data chunks ${((size - zeroBytes) / MiB).toFixed(0)} MiB; measured on ${(bytes / MiB).toFixed(0)} MiB`);
  const sha = cpuSeconds(() => sample.forEach((b) => crypto.createHash('sha256').update(b).digest()));
  const zc = cpuSeconds(() => sample.forEach((b) => b.equals(zero.subarray(0, b.length))));
  console.log(`sha256 ${(sha.s / GiB).toFixed(2)} CPU-s/GiB, zero check ${(zc.s / GiB).toFixed(2)} CPU-s/GiB`);
  const codecs = {
    'lz4 (lz4-napi)': [(b) => lz4.compressSync(b), (p) => lz4.uncompressSync(p)],
    ...Object.fromEntries([1, 2, 3, 4, 5, 6].map((l) => [`deflate-${l}`, [(b) => zlib.deflateRawSync(b, { level: l }), (p) => zlib.inflateRawSync(p)]])),
    ...Object.fromEntries([1, 2, 3, 4, 5].map((q) => [`brotli-${q}`, [
      (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_LGWIN]: 22, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
      (p) => zlib.brotliDecompressSync(p),
    ]])),
  };
  const only = opt(args, '--codecs', undefined)?.split(',');
  console.log('codec            ratio  compress CPU-s/GiB  MB/s/core  decompress CPU-s/GiB');
  const results = [];
  for (const [name, [enc, dec]] of Object.entries(codecs)) {
    if (only && !only.some((o) => name.startsWith(o))) continue;
    const c = cpuSeconds(() => sample.map(enc));
    const outBytes = c.out.reduce((n, b) => n + b.length, 0);
    const d = cpuSeconds(() => c.out.forEach(dec));
    const r = { codec: name, ratio: outBytes / bytes, compressCpuPerGiB: c.s / GiB, decompressCpuPerGiB: d.s / GiB };
    results.push(r);
    console.log(`${name.padEnd(16)} ${r.ratio.toFixed(3)} ${r.compressCpuPerGiB.toFixed(2).padStart(12)} ${(bytes / c.s / 1e6).toFixed(0).padStart(16)} ${r.decompressCpuPerGiB.toFixed(2).padStart(12)}`);
  }
  fs.mkdirSync(path.join(ROOT, 'bench-results'), { recursive: true });
  fs.writeFileSync(path.join(ROOT, 'bench-results', 'codec.json'), JSON.stringify({ file: path.basename(file), size, zeroBytes, measuredBytes: bytes, results }, null, 2) + '\n');
}
