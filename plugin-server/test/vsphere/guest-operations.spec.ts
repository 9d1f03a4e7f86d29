import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GuestAuth, GuestOperationsManager, VimClient, VimFault, VirtualMachine } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

// Guest operations against the lab's guests (test/lab/vcsim/guest_operations.go): every VM's
// guest is a busybox root under <data-dir>/guests/<vm>/ that programs run chrooted in.
const ROOT: GuestAuth = { username: 'root', password: 'HdmGuest!2026' };

describe('guest operations on the prem site', () => {
  let site: VcsimSite;
  let client: VimClient;
  let gom: GuestOperationsManager;
  let web: VirtualMachine; // powered on, tools running
  let app: VirtualMachine; // powered off

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    gom = new GuestOperationsManager(client);
    web = (await VirtualMachine.findByName(client, 'web-01'))!;
    app = (await VirtualMachine.findByName(client, 'app-01'))!;
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('uploads a shell script, runs it, reads its exit code and downloads the file it wrote', async () => {
    const script = Buffer.from([
      '#!/bin/sh',
      'mkdir -p /var/hdm',
      'echo "prepared $HDM_JOB in $(pwd) by $(id -un)" > /var/hdm/report.txt',
      'cat /tmp/payload.bin >> /var/hdm/report.txt',
      'exit 3',
      '',
    ].join('\n'));
    const payload = randomBytes(100_000);
    await gom.uploadFile(web, ROOT, '/tmp/prepare.sh', script, { mode: 0o755 });
    await gom.uploadFile(web, ROOT, '/tmp/payload.bin', payload);
    const pid = await gom.startProgram(web, ROOT, { path: '/tmp/prepare.sh', workingDirectory: '/tmp', env: { HDM_JOB: 'job-7' } });
    assert.ok(pid > 0);
    const exitCode = await gom.waitForProcess(web, ROOT, pid, 10_000);
    assert.equal(exitCode, 3);
    const [info] = await gom.listProcesses(web, ROOT, [pid]);
    assert.equal(info.pid, pid);
    assert.equal(info.owner, 'root');
    assert.equal(info.cmdLine, '/tmp/prepare.sh');
    assert.ok(info.startTime instanceof Date && info.endTime instanceof Date && info.endTime >= info.startTime);

    const report = await gom.downloadFile(web, ROOT, '/var/hdm/report.txt');
    const head = Buffer.from('prepared job-7 in /tmp by root\n');
    assert.ok(report.subarray(0, head.length).equals(head), report.subarray(0, 60).toString());
    assert.ok(report.subarray(head.length).equals(payload), 'payload copied inside the guest');
    // The bytes really are in the guest's root file system.
    const onDisk = fs.readFileSync(path.join(site.dataDir, 'guests', 'web-01', 'var', 'hdm', 'report.txt'));
    assert.ok(onDisk.equals(report));
  });

  it('zero exit codes, redirection in arguments, environment, terminate', async () => {
    const pid = await gom.startProgram(web, ROOT, { path: '/bin/sh', args: '-c "echo $HOME; uname -s" > /tmp/env.txt 2>&1' });
    assert.equal(await gom.waitForProcess(web, ROOT, pid, 10_000), 0);
    assert.equal((await gom.downloadFile(web, ROOT, '/tmp/env.txt')).toString(), '/root\nLinux\n');
    assert.deepEqual(await gom.readEnvironment(web, ROOT, ['HOME', 'USER']), ['HOME=/root', 'USER=root']);

    const sleeper = await gom.startProgram(web, ROOT, { path: '/bin/sleep', args: '30' });
    await assert.rejects(gom.waitForProcess(web, ROOT, sleeper, 300), { name: 'GuestProcessTimeoutError' });
    await gom.terminateProcess(web, ROOT, sleeper);
    assert.equal(await gom.waitForProcess(web, ROOT, sleeper, 5_000), 128 + 9);
    await assert.rejects(gom.terminateProcess(web, ROOT, 1), (e: unknown) => VimFault.is(e, 'GuestProcessNotFound'));
  });

  it('directories and deletes; existing files need overwrite', async () => {
    await gom.mkdir(web, ROOT, '/opt/hdm/bin');
    const tmp = await gom.createTemporaryDirectory(web, ROOT, { prefix: 'hdm-' });
    assert.match(tmp, /^\/tmp\/hdm-/);
    await gom.uploadFile(web, ROOT, '/opt/hdm/bin/tool', Buffer.from('v1'));
    await assert.rejects(gom.uploadFile(web, ROOT, '/opt/hdm/bin/tool', Buffer.from('v2')), (e: unknown) => VimFault.is(e, 'FileAlreadyExists'));
    await gom.uploadFile(web, ROOT, '/opt/hdm/bin/tool', Buffer.from('v2'), { overwrite: true });
    assert.equal((await gom.downloadFile(web, ROOT, '/opt/hdm/bin/tool')).toString(), 'v2');
    const names = (await gom.listFiles(web, ROOT, '/opt/hdm/bin')).map((f) => f.path);
    assert.ok(names.includes('tool'), names.join(','));
    await gom.deleteFile(web, ROOT, '/opt/hdm/bin/tool');
    await assert.rejects(gom.downloadFile(web, ROOT, '/opt/hdm/bin/tool'), (e: unknown) => VimFault.is(e, 'FileNotFound'));
    await gom.deleteDirectory(web, ROOT, '/opt', { recursive: true });
  });

  it('runScript: temporary directory, output captured, cleaned up; a timeout terminates the script', async () => {
    const res = await gom.runScript(web, ROOT, 'echo "args: $*"\necho "to stderr" >&2\nexit 5\n', { args: '"a b" c', env: { X: '1' } });
    assert.equal(res.exitCode, 5);
    assert.equal(res.stdout.toString(), 'args: a b c\n');
    assert.equal(res.stderr.toString(), 'to stderr\n');
    const left = (await gom.listFiles(web, ROOT, '/tmp', { matchPattern: 'hdm-run-*' })).map((f) => f.path);
    assert.deepEqual(left, [], 'temporary directory removed');
    await assert.rejects(gom.runScript(web, ROOT, 'sleep 30\n', { timeoutMs: 300 }), { name: 'GuestProcessTimeoutError' });
    const running = (await gom.listProcesses(web, ROOT)).filter((p) => !p.endTime);
    assert.deepEqual(running, [], 'the timed-out script was terminated');
  });

  it('a wrong guest password is InvalidGuestLogin', async () => {
    await assert.rejects(gom.startProgram(web, { username: 'root', password: 'nope' }, { path: '/bin/true' }),
      (e: unknown) => VimFault.is(e, 'InvalidGuestLogin'));
    await assert.rejects(gom.uploadFile(web, { username: 'admin', password: ROOT.password }, '/tmp/x', Buffer.from('x')),
      (e: unknown) => VimFault.is(e, 'InvalidGuestLogin'));
  });

  it('a powered-off VM is refused with InvalidPowerState', async () => {
    await assert.rejects(gom.startProgram(app, ROOT, { path: '/bin/true' }), (e: unknown) => VimFault.is(e, 'InvalidPowerState'));
    await assert.rejects(gom.downloadFile(app, ROOT, '/etc/passwd'), (e: unknown) => VimFault.is(e, 'InvalidPowerState'));
  });
});
