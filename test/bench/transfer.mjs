// Transfer benchmark (npm run bench -- transfer [--quick] [--size-mib N] [--links 1000,200,0,200+20,1000+100]
// [--datasets random,os-image,sparse,delta-1pct] [--tools hdm,hdm-1lane,hdm-4lanes,rsync-ssh,scp,nc]
// [--os-image desktop|minbase] [--tcp-window-kib N] [--verbose]).
//
// On a lab network of its own (LabNetwork, name hdmbn, slot 8: namespaces hdmbn-prem / hdmbn-cloud
// joined by a veth pair shaped with tc tbf; no vCenters), in the same run and on the same link:
//   hdm        prem-manager (prem namespace) reads a file source, cloud-manager (cloud namespace)
//              stages and writes a file target; mTLS, per-chunk SHA-256 + whole-disk SHA-256,
//              zero/dedup/adaptive deflate; delta = CBT changed-area list + the previous copy as base
//   rsync-ssh  rsync -a --whole-file -e ssh   (our own sshd in the cloud namespace)
//   scp        scp
//   nc         raw netcat-openbsd
//   hdm-1lane  hdm with one connection per disk (--max-lanes 1); hdm-Nlanes: N lanes (--lanes N);
//              plain `hdm` adapts its lanes (default)
// Links: MBIT tbf (0 = unshaped), MBIT+RTT adds a user-space delay line (a Node TCP relay in the
// cloud namespace holding every byte RTT/2 in each direction, and at most a TCP window's worth
// per connection: see startDelayLines) in front of every tool's port alike (no netem in this kernel).
// Data sets: random (incompressible), os-image (ext4 twice the size of a debootstrap bookworm root
// with a desktop package set, mkfs.ext4 -d, cached in .hdm-lab/bench/; --os-image minbase for the
// small minbase root), sparse (mostly
// empty: 1/64 of it random 1 MiB extents), delta-1pct (the random disk after rewriting 1 % as
// random 64 KiB-aligned 64 KiB blocks; hdm gets the changed-area list, the peers copy the file).
// wire_bytes = both directions of the prem WAN interface's counters during the run.
// Prints a table with ratios, writes bench-results/transfer.json ({"runs": [...]}).
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const MiB = 1 << 20;
const BENCH_DIR = path.join(ROOT, '.hdm-lab', 'bench');

export function opt(args, name, def) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error('[bench transfer]', ...a);

/* ---------------------------------------------------------------- data sets */

function writeRandom(file, size) {
  const fd = fs.openSync(file, 'w');
  const buf = Buffer.allocUnsafe(4 * MiB);
  for (let at = 0; at < size; at += buf.length) {
    crypto.randomFillSync(buf);
    fs.writeSync(fd, buf, 0, Math.min(buf.length, size - at), at);
  }
  fs.closeSync(fd);
}

function ensureRandom(size) {
  const file = path.join(BENCH_DIR, 'data', `random-${size / MiB}m.img`);
  if (!fs.existsSync(file) || fs.statSync(file).size !== size) {
    log(`creating ${file}`);
    writeRandom(`${file}.tmp`, size);
    fs.renameSync(`${file}.tmp`, file);
  }
  return file;
}

function ensureSparse(size) {
  const file = path.join(BENCH_DIR, 'data', `sparse-${size / MiB}m.img`);
  if (!fs.existsSync(file) || fs.statSync(file).size !== size) {
    const fd = fs.openSync(`${file}.tmp`, 'w');
    fs.ftruncateSync(fd, size);
    const extent = Buffer.allocUnsafe(MiB);
    for (let at = 0; at + MiB <= size; at += 64 * MiB) {
      crypto.randomFillSync(extent);
      fs.writeSync(fd, extent, 0, MiB, at + 7 * MiB > size - MiB ? at : at + 7 * MiB);
    }
    fs.closeSync(fd);
    fs.renameSync(`${file}.tmp`, file);
  }
  return file;
}

/** The random disk after 1 % of it was rewritten as random 64 KiB-aligned 64 KiB blocks, and the CBT list. */
function ensureDelta(randomFile, size) {
  const file = path.join(BENCH_DIR, 'data', `delta-1pct-${size / MiB}m.img`);
  const areasFile = `${file}.areas.json`;
  if (!fs.existsSync(file) || !fs.existsSync(areasFile) || fs.statSync(file).size !== size) {
    fs.copyFileSync(randomFile, `${file}.tmp`);
    const blocks = size / 65536;
    const want = Math.round(blocks * 0.01);
    const chosen = new Set();
    while (chosen.size < want) chosen.add(crypto.randomInt(blocks));
    const fd = fs.openSync(`${file}.tmp`, 'r+');
    const b = Buffer.allocUnsafe(65536);
    for (const i of chosen) {
      crypto.randomFillSync(b);
      fs.writeSync(fd, b, 0, b.length, i * 65536);
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    // CBT reports changed areas as {start, length}, merged where adjacent.
    const areas = [];
    for (const i of [...chosen].sort((x, y) => x - y)) {
      const last = areas[areas.length - 1];
      if (last && last.start + last.length === i * 65536) last.length += 65536;
      else areas.push({ start: i * 65536, length: 65536 });
    }
    fs.writeFileSync(areasFile, JSON.stringify(areas));
    fs.renameSync(`${file}.tmp`, file);
  }
  return { file, areas: JSON.parse(fs.readFileSync(areasFile, 'utf8')) };
}

// The issue's OS image: "an ext4 file system twice the size of what it holds, filled with a Debian
// root file system (debootstrap with a desktop-sized package set, mkfs.ext4 -d)". `desktop` (default):
// minbase + what a typical desktop VM holds — a kernel, Xorg, Xfce's core, a browser and LibreOffice's
// Writer/Calc/Impress, without Recommends (they would roughly double it with documentation, extra
// themes and language packs) — about 1.6 GB of files. `minbase` (the earlier set, 206 MB) stays
// available (--os-image minbase) and keeps its old cache file name.
const DESKTOP_PACKAGES = [
  'linux-image-amd64', 'grub-pc-bin', 'systemd-sysv', 'dbus', 'sudo', 'network-manager',
  'xserver-xorg-core', 'xserver-xorg-input-libinput', 'xserver-xorg-video-fbdev', 'lightdm', 'lightdm-gtk-greeter',
  'xfce4', 'xfce4-terminal', 'xfce4-goodies', 'adwaita-icon-theme', 'fonts-dejavu', 'fonts-noto-core',
  'firefox-esr', 'libreoffice-writer', 'libreoffice-calc', 'libreoffice-impress', 'libreoffice-gtk3',
];
const OS_IMAGES = {
  minbase: { root: 'debian-root', file: 'os-image.img', packages: [] },
  desktop: { root: 'debian-desktop-root', file: 'os-image-desktop.img', packages: DESKTOP_PACKAGES },
};

/** ext4 twice the size of a debootstrap root (minbase, or minbase + a desktop set), cached in .hdm-lab/bench/. */
export function ensureOsImage(variant = 'desktop') {
  const spec = OS_IMAGES[variant];
  if (!spec) throw new Error(`--os-image ${variant}: one of ${Object.keys(OS_IMAGES).join(', ')}`);
  const file = path.join(BENCH_DIR, 'data', spec.file);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const root = path.join(BENCH_DIR, spec.root);
  if (!fs.existsSync(path.join(root, 'etc', 'debian_version'))) {
    const tmp = `${root}.tmp`;
    // Never delete through a bind mount (/dev) left by a killed earlier build.
    if (fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1]?.startsWith(`${tmp}/`))) throw new Error(`${tmp} still has mounts: umount them first`);
    fs.rmSync(tmp, { recursive: true, force: true });
    log(`debootstrap --variant=minbase bookworm${spec.packages.length ? ` + ${spec.packages.length} desktop packages` : ''} (once; cached in .hdm-lab/bench/${spec.root})`);
    execFileSync('debootstrap', ['--variant=minbase', 'bookworm', tmp, 'http://deb.debian.org/debian'], { stdio: 'inherit' });
    if (spec.packages.length) installInChroot(tmp, spec.packages);
    fs.renameSync(tmp, root);
  }
  const content = Number(execFileSync('du', ['-sb', root]).toString().split('\t')[0]);
  const mib = Math.ceil((2 * content) / MiB);
  log(`mkfs.ext4 -d: ${Math.round(content / MiB)} MiB of files in a ${mib} MiB file system`);
  execFileSync('mkfs.ext4', ['-q', '-F', '-d', root, `${file}.tmp`, `${mib}M`]);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

/** apt-get install in the debootstrapped root; no service starts (policy-rc.d), /proc etc. only while it runs. */
function installInChroot(root, packages) {
  const policy = path.join(root, 'usr/sbin/policy-rc.d');
  fs.writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  const mounts = [['proc', 'proc', ['-t', 'proc', 'proc']], ['sys', 'sys', ['-t', 'sysfs', 'sysfs']], ['dev', 'dev', ['--bind', '/dev']]];
  const mounted = [];
  try {
    for (const [, dir, how] of mounts) {
      execFileSync('mount', [...how, path.join(root, dir)]);
      mounted.push(path.join(root, dir));
    }
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
    const apt = (...a) => execFileSync('chroot', [root, 'apt-get', '-y', '-q', '-o', 'APT::Install-Recommends=false', ...a], { stdio: 'inherit', env });
    apt('update');
    apt('install', ...packages);
    apt('clean'); // the downloaded .debs are not part of an installed system
  } finally {
    for (const m of mounted.reverse()) execFileSync('umount', ['-l', m]);
    fs.rmSync(policy, { force: true });
  }
}

function hashFile(file) {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    fs.createReadStream(file, { highWaterMark: 4 * MiB }).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
  });
}

/* ---------------------------------------------------------------- processes */

const children = new Set();
function startIn(ns, cmd, args, { ready, env } = {}) {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-20000)));
  child.stderr.on('data', (d) => (err = (err + d).slice(-20000)));
  const exited = new Promise((r) => child.once('exit', (code) => r(code)));
  const readyP = ready
    ? new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${cmd} not ready: ${err}`)), 20_000);
        const check = () => {
          if (ready(out, err)) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', check);
        child.stderr.on('data', check);
        void exited.then((c) => reject(new Error(`${cmd} exited ${c}: ${err}`)));
      })
    : Promise.resolve();
  return { child, exited, ready: readyP, stderr: () => err };
}

// CPU time of a process by thread (/proc/<pid>/task/*/stat, clock ticks): where an hdm run's time
// went. Node names every thread "node", so they are told apart by what they do: the main thread
// (TLS, framing, I/O callbacks), the busiest others in order (libuv's pool: compression,
// decoding, file reads/writes; the chunk workers: hashing; V8's GC helpers), and kernel time.
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
function threadCpu(pid) {
  const out = new Map();
  let tids = [];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(tid, { main: tid === String(pid), user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK });
    } catch {
      // the thread ended
    }
  }
  return out;
}
function cpuDelta(before, after) {
  const r2 = (x) => Math.round(x * 100) / 100;
  let main = 0;
  let sys = 0;
  const others = [];
  for (const [tid, t] of after) {
    const b = before.get(tid) ?? { user: 0, sys: 0 };
    const d = t.user - b.user + t.sys - b.sys;
    sys += t.sys - b.sys;
    if (t.main) main += d;
    else if (d > 0) others.push(d);
  }
  others.sort((x, y) => y - x);
  const total = main + others.reduce((a, b) => a + b, 0);
  return { total: r2(total), main: r2(main), threads: others.slice(0, 8).map(r2), sys: r2(sys) };
}

function runIn(ns, cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    children.add(child);
    let err = '';
    child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    child.on('exit', (code) => {
      children.delete(child);
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err}`));
    });
  });
}

/** The delay line: a relay in the cloud namespace that holds each byte `delayMs` in each direction. */
const DELAY_LINE = `
const net = require('net');
const [listenHost, listenPort, toHost, toPort, delayMs, holdBytes] = process.argv.slice(1);
// Per connection and direction at most HOLD bytes are held: a connection then gets at most
// HOLD / delay = WINDOW / RTT, what one TCP connection with that window gets over that RTT.
const HOLD = Number(holdBytes);
const pipe = (from, to) => {
  const q = []; let timer = null; let held = 0;
  const flush = () => {
    timer = null;
    const now = Date.now();
    while (q.length && q[0][0] <= now) { const [, b] = q.shift(); held -= b.length; to.write(b); }
    if (held < HOLD && from.isPaused()) from.resume();
    if (q.length) timer = setTimeout(flush, Math.max(0, q[0][0] - now));
  };
  from.on('data', (b) => {
    q.push([Date.now() + Number(delayMs), b]); held += b.length;
    if (held >= HOLD) from.pause();
    if (!timer) timer = setTimeout(flush, Number(delayMs));
  });
  from.on('end', () => { const wait = () => (q.length ? setTimeout(wait, 2) : to.end()); wait(); });
};
net.createServer((a) => {
  a.setNoDelay(true);
  const b = net.connect(Number(toPort), toHost, () => b.setNoDelay(true));
  for (const s of [a, b]) s.on('error', () => { a.destroy(); b.destroy(); });
  pipe(a, b); pipe(b, a);
}).listen(Number(listenPort), listenHost, () => console.log('ready'));
`;

/* ---------------------------------------------------------------- control client */

function controlClient(hostPort, cert) {
  const [host, port] = hostPort.split(':');
  // One kept-alive mTLS connection: a handshake per status poll would take CPU from the transfer being measured.
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, cert: cert.certPem, key: cert.keyPem, ca: cert.caPem, checkServerIdentity: () => undefined });
  children.add({ kill: () => agent.destroy() });
  const call = (method, p, body, retry) =>
    new Promise((resolve, reject) => {
      const text = body === undefined ? undefined : JSON.stringify(body);
      const req = https.request(
        { host, port: Number(port), method, path: p, agent,
          headers: text ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) } : {} },
        (res) => {
          let data = '';
          res.on('data', (d) => (data += d));
          res.on('end', () => resolve({ status: res.statusCode, body: data ? JSON.parse(data) : undefined }));
        },
      );
      // The server closes an idle kept-alive connection (5 s): a request that raced that close is sent again.
      req.on('error', (err) => (retry && req.reusedSocket ? call(method, p, body, false).then(resolve, reject) : reject(err)));
      req.end(text);
    });
  return (method, p, body) => call(method, p, body, true);
}

/* ---------------------------------------------------------------- the benchmark */

export async function run(args) {
  const quick = args.includes('--quick');
  const sizeMiB = Number(opt(args, '--size-mib', quick ? 64 : 2048));
  const size = sizeMiB * MiB;
  const links = opt(args, '--links', quick ? '200' : '1000,200,0,200+20').split(',');
  const datasets = opt(args, '--datasets', quick ? 'random,sparse,delta-1pct' : 'random,os-image,sparse,delta-1pct').split(',');
  const tools = opt(args, '--tools', 'hdm,rsync-ssh,scp,nc').split(',');
  // --verbose: prem-manager logs at info and each hdm run prints its SendStats (what zero/dedup/lz4/deflate did).
  const verbose = args.includes('--verbose');
  if (process.getuid?.() !== 0) throw new Error('needs root (network namespaces)');
  for (const bin of ['rsync', 'ssh', 'scp', 'nc', 'sshd', 'mkfs.ext4']) {
    try {
      execFileSync('which', [bin], { stdio: 'ignore' });
    } catch {
      throw new Error(`${bin} missing: npm run setup (scripts/setup.sh installs openssh, rsync, netcat-openbsd, debootstrap)`);
    }
  }
  const premBin = path.join(ROOT, 'appliances/prem-manager/dist/src/main.js');
  const cloudBin = path.join(ROOT, 'appliances/cloud-manager/dist/src/main.js');
  if (!fs.existsSync(premBin) || !fs.existsSync(cloudBin)) throw new Error('build the appliances first: npx tsc -b appliances/prem-manager appliances/cloud-manager');
  const { LabNetwork } = require(path.join(ROOT, 'test/lab/dist/lab-network.js'));
  const { TestCa } = require(path.join(ROOT, 'appliances/common/dist/src/index.js'));

  fs.mkdirSync(path.join(BENCH_DIR, 'data'), { recursive: true });
  const files = {};
  let areas = [];
  if (datasets.includes('random') || datasets.includes('delta-1pct')) files.random = ensureRandom(size);
  if (datasets.includes('sparse')) files.sparse = ensureSparse(size);
  if (datasets.includes('os-image')) files['os-image'] = ensureOsImage(opt(args, '--os-image', 'desktop'));
  if (datasets.includes('delta-1pct')) ({ file: files['delta-1pct'], areas } = ensureDelta(files.random, size));

  // HDM_BENCH_WORK: where the run's state and targets go (default .hdm-lab/bench; e.g. /dev/shm to take the disk out).
  const work = fs.mkdtempSync(path.join(process.env.HDM_BENCH_WORK || BENCH_DIR, 'run-'));
  const cloudDir = path.join(work, 'cloud');
  fs.mkdirSync(cloudDir, { recursive: true });
  const dataDir = path.join(BENCH_DIR, 'data');
  const net = new LabNetwork({ name: 'hdmbn', slot: 8, labDir: work, wanMbit: 0, pluginPort: 0, clientPort: 0, username: '', password: '', diskMiB: 0, extensionKey: '' });
  const a = net.addr;
  await net.down(); // our own leftovers of a crashed run, if any
  const runs = [];
  try {
    await net.up();
    // PKI
    const ca = new TestCa('HDM bench CA');
    const pki = path.join(work, 'pki');
    const cc = ca.issueToDir(pki, 'cloud', 'cloud-manager');
    const pc = ca.issueToDir(pki, 'prem', 'prem-manager');
    const plugin = { ...ca.issue('plugin-server', { usage: 'client' }), caPem: ca.certPem };
    // HDM_BENCH_NODE_ARGS: extra node flags for the two services (e.g. --cpu-prof) when investigating.
    const nodeArgs = (process.env.HDM_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const cloud = startIn(a.cloudNs, process.execPath, [...nodeArgs, cloudBin, '--listen', `${a.cloudIp}:8001`, '--data-listen', `${a.cloudIp}:7000`, '--cert', cc.files.cert, '--key', cc.files.key, '--ca', cc.files.ca,
      '--state-dir', path.join(work, 'cs'), '--file-dir', cloudDir, '--log-level', 'warn'], { ready: (o) => o.includes('"event":"ready"') });
    // One prem-manager per hdm variant asked for: `hdm` adapts its lanes (default, up to 4),
    // `hdm-1lane` keeps one connection per disk (--max-lanes 1), `hdm-Nlanes` uses N (--lanes N).
    const hdmTools = tools.filter((t) => /^hdm(-\d+lanes?)?$/.test(t));
    const laneArgs = (t) => {
      const n = Number(/^hdm-(\d+)lanes?$/.exec(t)?.[1] ?? 0);
      return n === 1 ? ['--max-lanes', '1'] : n > 1 ? ['--lanes', String(n)] : [];
    };
    const prems = {};
    hdmTools.forEach((t, i) => {
      const port = 8000 + 10 * i;
      const proc = startIn(a.premNs, process.execPath, [...nodeArgs, premBin, '--listen', `${a.premIp}:${port}`, '--cert', pc.files.cert, '--key', pc.files.key, '--ca', pc.files.ca,
        '--state-dir', path.join(work, `ps-${t}`), '--file-dir', dataDir, '--log-level', verbose ? 'info' : 'warn', ...laneArgs(t)], { ready: (o) => o.includes('"event":"ready"') });
      prems[t] = { proc, port };
    });
    await Promise.all([cloud.ready, ...Object.values(prems).map((x) => x.proc.ready)]);
    const cloudApi = controlClient(`${a.cloudIp}:8001`, plugin);
    for (const x of Object.values(prems)) x.api = controlClient(`${a.premIp}:${x.port}`, plugin);
    // sshd of our own in the cloud namespace
    fs.mkdirSync('/run/sshd', { recursive: true });
    const sshDir = path.join(work, 'ssh');
    fs.mkdirSync(sshDir, { mode: 0o700 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(sshDir, 'host')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(sshDir, 'client')]);
    fs.copyFileSync(path.join(sshDir, 'client.pub'), path.join(sshDir, 'authorized_keys'));
    fs.writeFileSync(path.join(sshDir, 'sshd_config'), [
      `ListenAddress ${a.cloudIp}`, 'Port 2222', `HostKey ${sshDir}/host`, `AuthorizedKeysFile ${sshDir}/authorized_keys`, 'PermitRootLogin prohibit-password',
      'PasswordAuthentication no', 'UsePAM no', 'StrictModes no', `PidFile ${sshDir}/sshd.pid`, 'Subsystem sftp internal-sftp', ''].join('\n'));
    startIn(a.cloudNs, '/usr/sbin/sshd', ['-D', '-e', '-f', path.join(sshDir, 'sshd_config')]);
    // Delay lines (RTT/2 each way) in front of the HDM data port, sshd and nc: started per link below.
    // A TCP connection over a real RTT carries at most its window per RTT; the relay terminates
    // TCP (its own legs have no RTT), so it models that window: it holds at most window/2 per
    // direction for RTT/2. The window: --tcp-window-kib, by default the sender's largest send
    // buffer here (tcp_wmem[2]; the receiver's tcp_rmem[2] is larger), which bounds the bytes
    // one connection keeps in flight.
    const tcpWindow = Number(opt(args, '--tcp-window-kib', 0)) * 1024 || Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]);
    const delayed = { 6000: 16000, 2222: 12222, 5001: 15001 };
    let delayLines = [];
    const startDelayLines = async (rtt) => {
      for (const d of delayLines) d.child.kill('SIGKILL');
      delayLines = [];
      if (!rtt) return;
      for (const [to, from] of Object.entries(delayed)) {
        const d = startIn(a.cloudNs, process.execPath, ['-e', DELAY_LINE, a.cloudIp, String(from), a.cloudIp, to, String(rtt / 2), String(Math.round(tcpWindow / 2))], { ready: (o) => o.includes('ready') });
        await d.ready;
        delayLines.push(d);
      }
      log(`delay line: RTT ${rtt} ms, per-connection window ${(tcpWindow / MiB).toFixed(1)} MiB (≤ ${((tcpWindow * 8) / (rtt / 1000) / 1e6).toFixed(0)} Mbit/s per connection)`);
    };
    await sleep(300);
    const sshOpts = (port) => ['-p', String(port), '-i', path.join(sshDir, 'client'), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];

    let seq = 0;
    const counters = async () => {
      const c = await net.wanCounters();
      return c.txBytes + c.rxBytes;
    };
    // This VM backs guest memory lazily: the first write into never-touched page-cache pages costs
    // ~3.5 ms of system time per MiB (dd: 1.8 s for 512 MiB, then 0.2 s once those pages were
    // freed and reused). Whichever tool ran first on fresh memory paid it, the next ones reused
    // the pages it freed. So before every run, the target file system gets twice the run's bytes
    // written and deleted (untimed): every tool starts on recycled pages.
    const warmPages = (bytes) => {
      const scratch = path.join(cloudDir, '.page-warmup');
      const fd = fs.openSync(scratch, 'w');
      const block = Buffer.alloc(4 * MiB);
      for (let at = 0; at < bytes; at += block.length) fs.writeSync(fd, block);
      fs.closeSync(fd);
      fs.rmSync(scratch);
    };
    const measure = async (label, fn) => {
      execFileSync('sync');
      const w0 = await counters();
      const t0 = performance.now();
      await fn();
      const seconds = (performance.now() - t0) / 1000;
      const wire = (await counters()) - w0;
      return { seconds, wire };
    };

    for (const link of links) {
      const [mbitS, rttS] = link.split('+');
      const mbit = Number(mbitS);
      const rtt = Number(rttS ?? 0);
      await net.shape(mbit);
      await startDelayLines(rtt);
      await sleep(300);
      const port = (p) => (rtt ? delayed[p] : p);
      for (const dataset of datasets) {
        const src = files[dataset];
        const bytes = fs.statSync(src).size;
        for (const tool of tools) {
          warmPages(2 * bytes);
          const dst = path.join(cloudDir, `${tool}-${dataset}-${++seq}.img`);
          let r;
          let lanes = 0;
          if (prems[tool]) {
            const { api: premApi, proc: prem } = prems[tool];
            const id = `b${seq}`;
            const delta = dataset === 'delta-1pct';
            // The delta's base: HDM's own copy of the random disk from this link's random run.
            const base = delta ? runs.findLast((x) => x.tool === tool && x.dataset === 'random' && x._link === link)?._dst : undefined;
            const imp = await cloudApi('POST', '/v1/imports', { id, disks: [{ key: 'disk-0', size: bytes, uploadUrl: pathToFileURL(dst).href, ...(base ? { baseUrl: pathToFileURL(base).href } : {}) }] });
            if (imp.status !== 201) throw new Error(`import: ${JSON.stringify(imp.body)}`);
            const cpu0 = [threadCpu(prem.child.pid), threadCpu(cloud.child.pid)];
            r = await measure(`${tool} ${dataset}`, async () => {
              const exp = await premApi('POST', '/v1/exports', {
                id,
                disks: [{ key: 'disk-0', size: bytes, sourceUrl: pathToFileURL(src).href, ...(base ? { changedAreas: areas } : {}) }],
                cloud: { host: a.cloudIp, port: port(7000), expectedRole: 'cloud-manager' },
              });
              if (exp.status !== 201) throw new Error(`export: ${JSON.stringify(exp.body)}`);
              for (;;) {
                const [e, i] = await Promise.all([premApi('GET', `/v1/exports/${id}`), cloudApi('GET', `/v1/imports/${id}`)]);
                if (e.body.state === 'failed' || i.body.state === 'failed') throw new Error(`hdm failed: ${JSON.stringify(e.body)} ${JSON.stringify(i.body)}`);
                lanes = Math.max(lanes, ...e.body.disks.map((d) => d.lanes ?? 1));
                if (e.body.state === 'done' && i.body.state === 'done') break;
                await sleep(50);
              }
            });
            r.cpu = { prem: cpuDelta(cpu0[0], threadCpu(prem.child.pid)), cloud: cpuDelta(cpu0[1], threadCpu(cloud.child.pid)) };
            if (!delta || base) {
              // verify bit-identical (outside the timing)
              const [hs, hd] = await Promise.all([hashFile(src), hashFile(dst)]);
              if (hs !== hd) throw new Error(`hdm ${dataset}: target differs`);
            }
            r._dst = dst;
            if (verbose) {
              const line = prem.stderr().split('\n').findLast((l) => l.includes(`"export":"${id}"`) && l.includes('"stats"'));
              if (line) log(`hdm ${dataset} stats ${JSON.stringify(JSON.parse(line).stats)}`);
              log(`hdm ${dataset} CPU-s prem ${JSON.stringify(r.cpu.prem)} cloud ${JSON.stringify(r.cpu.cloud)}`);
            }
          } else if (tool === 'rsync-ssh') {
            r = await measure(tool, () => runIn(a.premNs, 'rsync', ['-a', '--whole-file', '-e', ['ssh', ...sshOpts(port(2222))].join(' '), src, `root@${a.cloudIp}:${dst}`]));
          } else if (tool === 'scp') {
            r = await measure(tool, () => runIn(a.premNs, 'scp', ['-q', ...sshOpts(port(2222)).map((x) => (x === '-p' ? '-P' : x)), src, `root@${a.cloudIp}:${dst}`]));
          } else if (tool === 'nc') {
            r = await measure(tool, async () => {
              const out = fs.openSync(dst, 'w');
              const listener = spawn('ip', ['netns', 'exec', a.cloudNs, 'nc', '-l', a.cloudIp, '5001'], { stdio: ['ignore', out, 'pipe'] });
              children.add(listener);
              const done = new Promise((res) => listener.on('exit', res));
              await sleep(200);
              const input = fs.openSync(src, 'r');
              const sender = spawn('ip', ['netns', 'exec', a.premNs, 'nc', '-N', a.cloudIp, String(port(5001))], { stdio: [input, 'ignore', 'pipe'] });
              children.add(sender);
              await new Promise((res) => sender.on('exit', res));
              await done;
              fs.closeSync(out);
              fs.closeSync(input);
              children.delete(listener);
              children.delete(sender);
            });
          }
          const row = { link_mbit: mbit, rtt_ms: rtt, dataset, tool, seconds: Math.round(r.seconds * 1000) / 1000, bytes, wire_bytes: r.wire, ...(lanes ? { lanes } : {}), ...(r.cpu ? { cpu_s: r.cpu } : {}), _link: link, _dst: r._dst ?? dst };
          runs.push(row);
          log(`${link.padEnd(7)} ${dataset.padEnd(10)} ${tool.padEnd(10)} ${row.seconds.toFixed(2).padStart(7)} s  ${((bytes * 8) / r.seconds / 1e6).toFixed(0).padStart(6)} Mbit/s effective  wire ${(r.wire / MiB).toFixed(1)} MiB${lanes ? `  lanes ${lanes}` : ''}`);
          if (!prems[tool] || dataset !== 'random') fs.rmSync(dst, { force: true });
        }
      }
      for (const r of runs) if (r._link === link && r._dst) fs.rmSync(r._dst, { force: true });
    }
  } finally {
    for (const c of children) c.kill('SIGTERM'); // services stop cleanly (and write a --cpu-prof profile)
    await sleep(1500);
    for (const c of children) c.kill('SIGKILL');
    await sleep(300);
    await net.down();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const clean = runs.map(({ _link, _dst, ...r }) => r);
  printTable(clean);
  const outDir = path.join(ROOT, 'bench-results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'transfer.json'), JSON.stringify({ runs: clean }, null, 2) + '\n');
  console.log(`wrote bench-results/transfer.json (${clean.length} runs${quick ? ', --quick' : ''})`);
}

function printTable(runs) {
  const key = (r) => `${r.link_mbit}|${r.rtt_ms}|${r.dataset}`;
  const groups = new Map();
  for (const r of runs) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const lines = ['link        dataset     tool        seconds  eff. Mbit/s  wire MiB  wire/bytes  hdm speed ×  lanes'];
  for (const rows of groups.values()) {
    const hdm = rows.find((r) => r.tool === 'hdm');
    for (const r of rows) {
      const link = `${r.link_mbit || 'unshaped'}${r.rtt_ms ? `+${r.rtt_ms}ms` : ''}`;
      const ratio = hdm && r.tool !== 'hdm' ? (r.seconds / hdm.seconds).toFixed(2) : '';
      lines.push(`${link.padEnd(11)} ${r.dataset.padEnd(11)} ${r.tool.padEnd(10)} ${r.seconds.toFixed(2).padStart(8)} ${((r.bytes * 8) / r.seconds / 1e6).toFixed(0).padStart(12)} ${(r.wire_bytes / MiB).toFixed(1).padStart(9)} ${(r.wire_bytes / r.bytes).toFixed(4).padStart(11)} ${ratio.padStart(12)}  ${r.lanes ?? ''}`);
    }
  }
  console.log(lines.join('\n'));
  console.log('hdm speed × = that tool\'s seconds / hdm\'s seconds on the same link and data set (> 1: hdm faster)');
}
