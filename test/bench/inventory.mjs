// Inventory benchmark (npm run bench -- inventory [--vms N] [--runs N]): starts hdm-vcsim with
// the -vms scale model (default 2,000 VMs, each with a disk and a NIC, spread over the hosts;
// TMPDIR and the datastore on /dev/shm), then measures with HDM's own vSphere layer:
//  (a) full retrieval of name, power state, guest OS, disks, NICs and datastore usage of every
//      VM parsed into typed objects — once as paged RetrievePropertiesEx (maxObjects 1000) from a
//      ContainerView, once as the InventoryCache's initial fill (paged WaitForUpdatesEx);
//  (b) power-off through the API → the InventoryCache reflects it (onChange), per VM.
// Targets: (a) < 1 s, (b) < 1 s. Prints the figures, writes bench-results/inventory.json.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const BIN = process.env.HDM_VCSIM_BIN || path.join(ROOT, '.hdm-lab', 'bin', 'hdm-vcsim');
const USER = 'administrator@vsphere.local';
const PASS = 'HdmLab!2026';

function arg(args, name, def) {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const round = (x) => Math.round(x * 10) / 10;

async function startSim(vms) {
  const shm = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(shm, 'hdm-bench-'));
  const t0 = performance.now();
  const child = spawn(BIN, ['-site', 'prem', '-listen', '127.0.0.1:0', '-vms', String(vms), '-data-dir', path.join(dir, 'data'),
    '-username', USER, '-password', PASS], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: dir } });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hdm-vcsim not ready after 120 s: ${stderr}`)), 120_000);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const m = JSON.parse(line);
        if (m.event === 'ready') { clearTimeout(timer); resolve(m); }
      } catch { /* not JSON */ }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`hdm-vcsim exited ${code}: ${stderr}`)); });
  });
  const startMs = performance.now() - t0;
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { ...ready, startMs, pid: child.pid, stop };
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch { return undefined; }
}

export async function run(args) {
  const vmCount = arg(args, '--vms', 2000);
  const runs = arg(args, '--runs', 5);
  if (!fs.existsSync(BIN)) {
    execFileSync('go', ['build', '-o', BIN, '.'], { cwd: path.join(ROOT, 'test', 'lab', 'vcsim'),
      env: { ...process.env, GO111MODULE: 'off', GOPATH: '/usr/share/gocode' }, stdio: 'inherit' });
  }
  const v = require(path.join(ROOT, 'plugin-server', 'dist', 'src', 'vsphere'));
  const sim = await startSim(vmCount);
  console.log(`hdm-vcsim with ${vmCount} scale VMs (+4 lab VMs) ready in ${Math.round(sim.startMs)} ms, RSS ${rssMiB(sim.pid)} MiB`);
  const connect = () => v.VimClient.connect({ url: sim.url, thumbprint: sim.thumbprint, username: USER, password: PASS });
  const client = await connect();
  const admin = await connect();
  const result = { vms: vmCount + 4, runs, simulatorStartMs: Math.round(sim.startMs) };
  let cache;
  try {
    // (a) full typed retrieval, paged RetrievePropertiesEx, of exactly what the target names:
    // name, power state, guest OS, disks + NICs (config.hardware.device) and datastore usage.
    // (The cache below reads more per VM: folder, pool, host, snapshot, firmware, CPU, memory.)
    const paths = ['name', 'runtime.powerState', 'config.guestId', 'config.guestFullName', 'config.hardware.device', 'storage.perDatastoreUsage'];
    const retrieveMs = [];
    let typed = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      const objs = await v.retrieveAll(client, 'VirtualMachine', paths, { maxObjects: 1000 });
      typed = objs.map((o) => {
        const d = v.toVmDetails(o.ref, o.props, { name: (r) => r.value });
        const usage = v.unwrapArray(o.props['storage.perDatastoreUsage']) ?? [];
        return { ...d, guestFullName: o.props['config.guestFullName'], datastoreUsage: usage.map((u) => ({ datastore: u.datastore.value, committed: u.committed })) };
      });
      retrieveMs.push(performance.now() - t0);
    }
    if (typed.length !== vmCount + 4) throw new Error(`retrieved ${typed.length} VMs, want ${vmCount + 4}`);
    const bad = typed.filter((t) => t.disks.length !== 1 || t.nics.length !== 1 || !t.guestId || !t.datastoreUsage.length);
    if (bad.length) throw new Error(`${bad.length} VMs lack a disk, NIC, guest OS or datastore usage, e.g. ${JSON.stringify(bad[0]).slice(0, 300)}`);
    result.retrieveMedianMs = round(median(retrieveMs));
    result.retrieveRunsMs = retrieveMs.map(round);

    // (a') the InventoryCache's initial fill (paged WaitForUpdatesEx), then (b) power-off lag.
    const fillMs = [];
    for (let i = 0; i < Math.min(runs, 3); i++) {
      const c = new v.InventoryCache(client, { pageSize: 1000, waitSeconds: 30 });
      await c.start();
      fillMs.push(c.stats.fillMs);
      if (c.vms().length !== vmCount + 4) throw new Error(`cache holds ${c.vms().length} VMs`);
      if (i < Math.min(runs, 3) - 1) await c.stop(); else cache = c;
    }
    result.cacheFillMedianMs = round(median(fillMs));
    result.cacheFillRunsMs = fillMs.map(round);
    result.cacheFillPages = cache.stats.fillPages;
    result.cacheObjects = cache.size;

    const on = cache.vms().filter((x) => x.powerState === 'poweredOn').slice(0, runs);
    const lags = [];
    const apiMs = [];
    for (const vm of on) {
      const seen = new Promise((resolve) => {
        const off = cache.onChange((ch) => {
          if (ch.object.moid === vm.moid && ch.object.powerState === 'poweredOff') { off(); resolve(performance.now()); }
        });
      });
      const t0 = performance.now();
      const task = await new v.VirtualMachine(admin, vm.ref ?? { type: 'VirtualMachine', value: vm.moid }).powerOff();
      await task.wait();
      const tDone = performance.now();
      const tSeen = await Promise.race([seen, new Promise((_, rej) => setTimeout(() => rej(new Error(`power-off of ${vm.name} not seen in 10 s`)), 10_000))]);
      apiMs.push(tDone - t0);
      lags.push(tSeen - tDone); // from the task's completion to the cache's change event
    }
    result.powerOffToCacheMedianMs = round(median(lags));
    result.powerOffToCacheMaxMs = round(Math.max(...lags));
    result.powerOffToCacheRunsMs = lags.map(round);
    result.powerOffTaskMedianMs = round(median(apiMs));
    result.simulatorRssMiB = rssMiB(sim.pid);
    result.targets = { retrieveMs: 1000, powerOffToCacheMs: 1000 };
    result.pass = result.retrieveMedianMs < 1000 && result.powerOffToCacheMaxMs < 1000;
  } finally {
    await cache?.stop().catch(() => undefined);
    await client.logout().catch(() => undefined);
    await admin.logout().catch(() => undefined);
    await sim.stop();
  }
  console.log(`(a) typed retrieval of ${result.vms} VMs: name, power, guest OS, disks, NICs, datastore usage (paged RetrievePropertiesEx): median ${result.retrieveMedianMs} ms (runs ${result.retrieveRunsMs.join(', ')})`);
  console.log(`(a') InventoryCache initial fill (${result.cacheFillPages} pages, ${result.cacheObjects} objects): median ${result.cacheFillMedianMs} ms`);
  console.log(`(b) power-off → cache: median ${result.powerOffToCacheMedianMs} ms, max ${result.powerOffToCacheMaxMs} ms (task itself ${result.powerOffTaskMedianMs} ms)`);
  console.log(`targets < 1000 ms: ${result.pass ? 'met' : 'NOT met'}`);
  const out = path.join(ROOT, 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'inventory.json'), JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2) + '\n');
  console.log(`wrote ${path.join(out, 'inventory.json')}`);
  if (!result.pass) process.exitCode = 1;
}
