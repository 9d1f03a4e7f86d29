import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { diskDigestOfFile, TestCa } from '@hdm/appliance-common';
import { controlClient, MiB, waitFor } from './harness';

const ROOT = join(__dirname, '../../../..');
const CLOUD_MAIN = join(ROOT, 'appliances/cloud-manager/dist/src/main.js');
const PREM_MAIN = join(ROOT, 'appliances/prem-manager/dist/src/main.js');

interface LabNet {
  addr: { premNs: string; cloudNs: string; premIp: string; cloudIp: string; premWanIp: string; wanPrem: string; wanCloud: string; wanSubnet: string; rootSubnet: string };
  up(): Promise<void>;
  down(): Promise<void>;
  shape(mbit: number): Promise<void>;
  wanCounters(): Promise<{ txBytes: number; rxBytes: number }>;
}
// The lab's own network code (test/lab/src/lab-network.ts), built by the lab workspace.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { LabNetwork } = require(join(ROOT, 'test/lab/dist/lab-network.js')) as { LabNetwork: new (cfg: object) => LabNet };

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file, { highWaterMark: 4 * MiB })
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/**
 * Faults on the lab's WAN (namespaces hdmft-prem / hdmft-cloud, veth shaped to 200 Mbit/s): a
 * 256 MiB disk goes from a file source through prem-manager to cloud-manager while the test
 * kill -9s prem-manager (and re-POSTs, as the orchestrator does), kill -9s cloud-manager, and
 * deletes the WAN routes for 4 s (longer than prem-manager's 2 s idle timeout, so the data
 * connection fails) before restoring them. The disk must arrive bit-identical with at most
 * 64 MiB re-sent, measured at the prem WAN interface's tx counter against the protocol
 * overhead measured on a clean transfer in the same run.
 */
describe('transfer faults on the lab WAN: kill -9 both services, break the link', () => {
  const net = new LabNetwork({ name: 'hdmft', slot: 9, labDir: tmpdir(), wanMbit: 200, pluginPort: 0, clientPort: 0, username: '', password: '', diskMiB: 0, extensionKey: '' });
  const a = net.addr;
  let dir: string;
  let src: string;
  let dst: string;
  const procs: ChildProcess[] = [];
  let cloudArgs: string[];
  let premArgs: string[];
  let cloudApi: ReturnType<typeof controlClient>;
  let premApi: ReturnType<typeof controlClient>;
  const ca = new TestCa('HDM fault-test CA');
  const plugin = ca.issue('plugin-server', { usage: 'client' });

  const start = async (ns: string, main: string, args: string[]): Promise<ChildProcess> => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(child);
    let out = '';
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20000)));
    (child as ChildProcess & { log?: () => string }).log = () => err;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${main} not ready: ${err}`)), 15_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('"event":"ready"')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (c) => reject(new Error(`${main} exited ${c}: ${err}`)));
    });
    return child;
  };
  const kill9 = async (child: ChildProcess): Promise<void> => {
    const exited = new Promise((r) => child.once('exit', r));
    // `ip netns exec` execs node, so the child's pid is the service's.
    child.kill('SIGKILL');
    await exited;
  };
  const tx = async (): Promise<number> => (await net.wanCounters()).txBytes;

  before(async () => {
    await net.down();
    await net.up();
    dir = mkdtempSync(join(tmpdir(), 'hdm-faults-'));
    src = join(dir, 'src');
    dst = join(dir, 'dst');
    mkdirSync(src);
    mkdirSync(dst);
    const pki = join(dir, 'pki');
    const c = ca.issueToDir(pki, 'cloud', 'cloud-manager', { altNames: [a.cloudIp] });
    const p = ca.issueToDir(pki, 'prem', 'prem-manager', { altNames: [a.premIp] });
    cloudArgs = ['--listen', `${a.cloudIp}:8001`, '--data-listen', `${a.cloudIp}:7000`, '--cert', c.files!.cert, '--key', c.files!.key, '--ca', c.files!.ca, '--state-dir', join(dir, 'cs'), '--file-dir', dst];
    premArgs = ['--listen', `${a.premIp}:8000`, '--cert', p.files!.cert, '--key', p.files!.key, '--ca', p.files!.ca, '--state-dir', join(dir, 'ps'), '--file-dir', src, '--idle-timeout-ms', '2000'];
    await start(a.cloudNs, CLOUD_MAIN, cloudArgs);
    await start(a.premNs, PREM_MAIN, premArgs);
    cloudApi = controlClient(`${a.cloudIp}:8001`, plugin, ca.certPem);
    premApi = controlClient(`${a.premIp}:8000`, plugin, ca.certPem);
  });

  after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    await net.down();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const writeRandom = (file: string, size: number): void => {
    const fd = openSync(file, 'w');
    const buf = Buffer.allocUnsafe(4 * MiB);
    for (let at = 0; at < size; at += buf.length) {
      randomFillSync(buf);
      writeSync(fd, buf, 0, Math.min(buf.length, size - at), at);
    }
    closeSync(fd);
  };
  const post = async (id: string, size: number): Promise<void> => {
    const imp = await cloudApi('POST', '/v1/imports', { id, disks: [{ key: 'disk-0', size, uploadUrl: pathToFileURL(join(dst, id)).href }] });
    assert.equal(imp.status, 201, JSON.stringify(imp.body));
    await postExport(id, size);
  };
  const postExport = async (id: string, size: number): Promise<void> => {
    const exp = await premApi('POST', '/v1/exports', { id, disks: [{ key: 'disk-0', size, sourceUrl: pathToFileURL(join(src, id)).href }], cloud: { host: a.cloudIp, port: 7000, expectedRole: 'cloud-manager' } });
    assert.equal(exp.status, 201, JSON.stringify(exp.body));
  };
  const progress = async (): Promise<number> => (await premApi('GET', '/v1/exports/big')).body.bytesDone as number;

  it('arrives bit-identical with at most 64 MiB re-sent', { timeout: 120_000 }, async () => {
    // Protocol overhead (TCP/IP, TLS records, frames, control polling) on a clean 32 MiB copy.
    const clean = 32 * MiB;
    writeRandom(join(src, 'clean'), clean);
    const c0 = await tx();
    await post('clean', clean);
    await waitFor('clean copy', async () => ((await premApi('GET', '/v1/exports/clean')).body.state === 'done' ? true : undefined), 30_000);
    const overhead = (await tx()) - c0 - clean;
    const ratio = 1 + overhead / clean;

    const size = 256 * MiB;
    writeRandom(join(src, 'big'), size);
    const t0 = await tx();
    const started = performance.now();
    await post('big', size);

    // 1. kill -9 prem-manager; restart it; re-POST the export (what the orchestrator does).
    await waitFor('48 MiB', async () => ((await progress()) >= 48 * MiB ? true : undefined), 30_000, 100);
    await kill9(procs.find((p) => p.spawnargs.includes(PREM_MAIN))!);
    await start(a.premNs, PREM_MAIN, premArgs);
    const interrupted = (await premApi('GET', '/v1/exports/big')).body;
    assert.equal(interrupted.state, 'failed');
    await postExport('big', size);

    // 2. kill -9 cloud-manager; restart it on the same addresses; prem-manager reconnects by itself.
    await waitFor('96 MiB', async () => ((await progress()) >= 96 * MiB ? true : undefined), 30_000, 100);
    await kill9(procs.find((p) => p.spawnargs.includes(CLOUD_MAIN) && p.exitCode === null && p.signalCode === null)!);
    await new Promise((r) => setTimeout(r, 500));
    await start(a.cloudNs, CLOUD_MAIN, cloudArgs);

    // 3. break the link: the WAN routes go away for 4 s (connections fail), then come back.
    await waitFor('144 MiB', async () => ((await progress()) >= 144 * MiB ? true : undefined), 30_000, 100);
    const premRoutes = execFileSync('ip', ['-n', a.premNs, 'route', 'show', a.wanSubnet]).toString().trim();
    const cloudRoutes = execFileSync('ip', ['-n', a.cloudNs, 'route', 'show']).toString().trim().split('\n').filter(Boolean);
    execFileSync('ip', ['-n', a.premNs, 'route', 'del', a.wanSubnet]);
    for (const r of cloudRoutes) execFileSync('ip', ['-n', a.cloudNs, 'route', 'del', ...r.trim().split(/\s+/)]);
    await new Promise((r) => setTimeout(r, 4000));
    execFileSync('ip', ['-n', a.premNs, 'route', 'add', ...premRoutes.trim().split(/\s+/)]);
    // connected routes first, then those via a gateway on them
    for (const r of [...cloudRoutes].sort((x, y) => Number(x.includes(' via ')) - Number(y.includes(' via ')))) {
      execFileSync('ip', ['-n', a.cloudNs, 'route', 'add', ...r.trim().split(/\s+/)]);
    }
    const cloudDone = await waitFor('import done', async () => {
      const b = (await cloudApi('GET', '/v1/imports/big')).body;
      if (b.state === 'failed') throw new Error(JSON.stringify(b));
      return b.state === 'done' ? b : undefined;
    }, 90_000, 200);
    const premDone = await waitFor('export done', async () => {
      const b = (await premApi('GET', '/v1/exports/big')).body;
      if (b.state === 'failed') throw new Error(JSON.stringify(b));
      return b.state === 'done' ? b : undefined;
    }, 30_000);
    const seconds = (performance.now() - started) / 1000;
    const wire = (await tx()) - t0;
    const resent = wire - size * ratio;
    const expected = await hashFile(join(src, 'big'));
    assert.equal(await hashFile(join(dst, 'big')), expected, 'bit-identical');
    const digest = await diskDigestOfFile(join(src, 'big'));
    assert.equal(cloudDone.disks[0].sha256, digest);
    assert.equal(premDone.disks[0].sha256, digest);
    const premLog = procs.map((p) => (p as ChildProcess & { log?: () => string }).log?.() ?? '').join('\n');
    assert.match(premLog, /resuming there/);
    // The route loss was felt: the connection went silent (idle timeout) or could not be made.
    const interruptions = premLog.split('\n').filter((l) => l.includes('disk transfer interrupted'));
    assert.ok(interruptions.some((l) => /no frame from peer|ENETUNREACH|EHOSTUNREACH|ETIMEDOUT/.test(l)), interruptions.join('\n'));
    assert.ok(interruptions.some((l) => /ECONNREFUSED|ECONNRESET|closed|EPIPE/.test(l)), `cloud-manager's kill was felt: ${interruptions.join('\n')}`);
    process.stderr.write(
      `# faults on a 200 Mbit/s lab WAN: 256 MiB in ${seconds.toFixed(1)} s with kill -9 prem, kill -9 cloud, 4 s route loss; ` +
        `${(wire / MiB).toFixed(1)} MiB tx on the WAN, overhead ×${ratio.toFixed(4)}, re-sent ≈ ${(resent / MiB).toFixed(1)} MiB\n`,
    );
    assert.ok(resent <= 64 * MiB, `re-sent ${(resent / MiB).toFixed(1)} MiB > 64 MiB`);
  });
  it('three lanes per disk (--lanes 3): bit-identical across a kill -9 of cloud-manager', { timeout: 120_000 }, async () => {
    // prem-manager again, with a fixed three connections per disk.
    const prem = procs.find((p) => p.spawnargs.includes(PREM_MAIN) && p.exitCode === null && p.signalCode === null);
    if (prem) await kill9(prem);
    const lanePrem = await start(a.premNs, PREM_MAIN, [...premArgs, '--lanes', '3']);
    const size = 128 * MiB;
    writeRandom(join(src, 'lanes'), size);
    await post('lanes', size);
    const lanesNow = async (): Promise<Record<string, unknown>> => (await premApi('GET', '/v1/exports/lanes')).body;
    const running = await waitFor('3 lanes and 32 MiB', async () => {
      const b = await lanesNow();
      const d = (b.disks as Array<{ lanes?: number; bytesDone: number }>)[0]!;
      return d.lanes === 3 && d.bytesDone >= 32 * MiB ? d : undefined;
    }, 30_000, 50);
    assert.equal(running.lanes, 3);
    await kill9(procs.find((p) => p.spawnargs.includes(CLOUD_MAIN) && p.exitCode === null && p.signalCode === null)!);
    await new Promise((r) => setTimeout(r, 500));
    await start(a.cloudNs, CLOUD_MAIN, cloudArgs);
    const premDone = await waitFor('export done', async () => {
      const b = await lanesNow();
      if (b.state === 'failed') throw new Error(JSON.stringify(b));
      return b.state === 'done' ? b : undefined;
    }, 90_000, 200);
    const cloudDone = (await cloudApi('GET', '/v1/imports/lanes')).body;
    assert.equal(cloudDone.state, 'done');
    assert.equal(await hashFile(join(dst, 'lanes')), await hashFile(join(src, 'lanes')), 'bit-identical');
    const digest = await diskDigestOfFile(join(src, 'lanes'));
    assert.equal(cloudDone.disks[0].sha256, digest);
    const disk = (premDone.disks as Array<{ sha256: string; lanes?: number }>)[0]!;
    assert.equal(disk.sha256, digest);
    assert.equal(disk.lanes, 3);
    const logs = procs.map((p) => (p as ChildProcess & { log?: () => string }).log?.() ?? '').join('\n');
    assert.match(logs, /lane joined/);
    assert.match((lanePrem as ChildProcess & { log: () => string }).log(), /resuming there/);
  });
});
