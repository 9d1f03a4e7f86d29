#!/usr/bin/env node
// Runs every test suite (Go harness, node:test suites, Karma) and ends with one
// combined `N passed, N failed` line for CI. Usage: node scripts/run-tests.mjs [suite...]
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);

function specFiles(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(p).isDirectory()) out.push(...specFiles(p));
    else if (name.endsWith('.spec.js')) out.push(p);
  }
  return out.sort();
}

function run(cmd, args, opts) {
  return new Promise((resolveRun) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let text = '';
    const tee = (stream, sink) => stream.on('data', (d) => { text += d; sink.write(d); });
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on('close', (code) => resolveRun({ code: code ?? 1, text }));
  });
}

/** Lab specs that start simulators, servers or a browser: they run with the integration suite. */
const LAB_INTEGRATION = /client-host\/(client-host|browser-smoke)\.spec\.js$/;

const countLines = (text, re) => (text.match(re) ?? []).length;

const suites = {
  async vcsim() {
    const { code, text } = await run('go', ['test', '-count=1', '-timeout=300s', '-v', '.'], {
      cwd: join(root, 'test/lab/vcsim'),
      env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode' },
    });
    const passed = countLines(text, /^\s*--- PASS:/gm);
    const failed = countLines(text, /^\s*--- FAIL:/gm) + (code !== 0 && !/--- FAIL:/.test(text) ? 1 : 0);
    return { passed, failed };
  },
  async unit() {
    const files = [
      ...specFiles(join(root, 'plugin-server/dist/src')),
      ...['common', 'prem-manager', 'esxi-manager', 'cloud-manager'].flatMap((p) => specFiles(join(root, `appliances/${p}/dist/src`))),
      ...specFiles(join(root, 'test/lab/dist')).filter((f) => !LAB_INTEGRATION.test(f)),
    ];
    return nodeTest(files, []);
  },
  async integration() {
    const files = [
      ...specFiles(join(root, 'plugin-server/dist/test')),
      ...['common', 'prem-manager', 'esxi-manager', 'cloud-manager'].flatMap((p) => specFiles(join(root, `appliances/${p}/dist/test`))),
      ...specFiles(join(root, 'test/lab/dist')).filter((f) => LAB_INTEGRATION.test(f)),
    ];
    return nodeTest(files, ['--test-concurrency=1']);
  },
  async e2e() {
    return nodeTest(specFiles(join(root, 'test/e2e/dist')), ['--test-concurrency=1']);
  },
  async ui() {
    if (!existsSync(join(root, 'plugin-ui/package.json'))) return { passed: 0, failed: 0 };
    const { code, text } = await run('npm', ['test', '--silent'], { cwd: join(root, 'plugin-ui') });
    const m = [...text.matchAll(/^(\d+) passed, (\d+) failed/gm)].pop();
    if (!m) return { passed: 0, failed: 1 };
    return { passed: Number(m[1]), failed: Number(m[2]) + (code !== 0 && m[2] === '0' ? 1 : 0) };
  },
};

async function nodeTest(files, extra) {
  if (files.length === 0) return { passed: 0, failed: 0 };
  const { code, text } = await run(process.execPath, ['--test', '--test-reporter=tap', ...extra, ...files]);
  const pass = [...text.matchAll(/^# pass (\d+)/gm)].pop();
  const fail = [...text.matchAll(/^# fail (\d+)/gm)].pop();
  const passed = pass ? Number(pass[1]) : 0;
  let failed = fail ? Number(fail[1]) : 0;
  if (code !== 0 && failed === 0) failed = 1;
  return { passed, failed };
}

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(suites);
let passed = 0;
let failed = 0;
const lines = [];
for (const name of wanted) {
  const suite = suites[name];
  if (!suite) { console.error(`unknown suite ${name}; known: ${Object.keys(suites).join(', ')}`); process.exit(2); }
  console.log(`\n=== suite ${name} ===`);
  const started = Date.now();
  const r = await suite();
  passed += r.passed;
  failed += r.failed;
  lines.push(`  ${name.padEnd(12)} pass ${r.passed}  fail ${r.failed}  ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
console.log('\n=== summary ===');
for (const l of lines) console.log(l);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
