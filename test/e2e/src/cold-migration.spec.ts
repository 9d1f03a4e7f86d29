/**
 * Foundation 2/3 end to end: a powered-off VM moves prem → cloud across the shaped
 * WAN through HDM's transfer engine, driven by the `hdm` CLI, visible as a vCenter
 * task and events; a second scenario kills the server mid-copy.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Lab, LabJson } from '@hdm/lab/dist/lab';
import { datastoreDir } from '@hdm/lab/dist/vcenter-process';
import {
  Datacenter,
  EventManager,
  Inventory,
  retrieveOne,
  Task,
  VimClient,
  VirtualMachine,
  waitForTask,
} from '@hdm/plugin-server/dist/src/vsphere';
import { testLabConfig } from './support';
import { hdm } from './cli';

interface Job {
  id: string;
  disks?: Array<{ key: string; size: number; bytesDone: number; sha256?: string; via?: string }>;
  state: string;
  phase: string;
  bytesDone: number;
  bytesTotal: number;
  error?: string;
  cloudVm?: string;
  vcTask?: string;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const flat = (descriptor: string) => descriptor.replace(/\.vmdk$/, '-flat.vmdk');

async function connect(site: LabJson['prem']): Promise<VimClient> {
  return VimClient.connect({ url: site.url, username: site.username, password: site.password, thumbprint: site.thumbprint });
}

/** Writes `bytes` over the start of the VM's first disk through the prem vCenter's datastore API. */
async function writeDisk(json: LabJson, vmName: string, fill: (size: number) => Buffer): Promise<Buffer> {
  const client = await connect(json.prem);
  try {
    const vm = (await new Inventory(client).vms()).find((v) => v.name === vmName)!;
    const disk = vm.disks[0]!;
    const bytes = fill(disk.capacityInBytes);
    const dc = (await Datacenter.find(client))!;
    await dc.files().upload(flat(disk.fileName!), bytes, bytes.length);
    return bytes;
  } finally {
    await client.logout();
  }
}

/** Reads the cloud VM's first disk back through the cloud vCenter's authenticated datastore API. */
async function readCloudDisk(json: LabJson, moid: string): Promise<Buffer> {
  const client = await connect(json.cloud);
  try {
    const vm = await new VirtualMachine(client, { type: 'VirtualMachine', value: moid }).config();
    const dc = (await Datacenter.find(client))!;
    return await dc.files().read(flat(vm.disks[0]!.fileName!));
  } finally {
    await client.logout();
  }
}

async function jobs(json: LabJson): Promise<Job[]> {
  const r = await hdm(json, ['jobs', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Job[];
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('cold migration across the WAN', () => {
  let lab: Lab;
  let json: LabJson;

  before(async () => {
    lab = new Lab(await testLabConfig('hdmm', 5));
    json = await lab.start();
  });
  after(async () => lab?.stop());

  test('random bytes written into a prem VM arrive bit-identical in the cloud VM, over the WAN, with task and events', async () => {
    const written = await writeDisk(json, 'app-01', (size) => randomBytes(size));
    const wanBefore = await lab.network.wanCounters();

    const r = await hdm(json, ['migrate', 'app-01', '--to', 'cloud', '--kind', 'cold', '--wait', '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const job = JSON.parse(r.stdout) as Job;
    assert.equal(job.state, 'done', job.error);
    assert.equal(job.bytesDone, written.length);
    assert.deepEqual(job.disks?.map((d) => d.via), ['esxi'], 'read through the Prem ESXi Manager, not NFC');

    const wanAfter = await lab.network.wanCounters();
    assert.ok(wanAfter.txBytes - wanBefore.txBytes >= written.length, `WAN carried ${wanAfter.txBytes - wanBefore.txBytes} bytes prem → cloud for a ${written.length}-byte disk`);

    const arrived = await readCloudDisk(json, job.cloudVm!);
    assert.equal(arrived.length, written.length);
    assert.equal(sha(arrived), sha(written));

    // Same hardware in the cloud: CPU, memory, guest OS, firmware, disks, NICs on the mapped network.
    const [premC, cloudC] = await Promise.all([connect(json.prem), connect(json.cloud)]);
    try {
      const src = (await new Inventory(premC).vms()).find((v) => v.name === 'app-01')!;
      const dst = await new VirtualMachine(cloudC, { type: 'VirtualMachine', value: job.cloudVm! }).config();
      assert.equal(dst.name, 'app-01');
      assert.equal(dst.numCPU, src.numCPU);
      assert.equal(dst.memoryMB, src.memoryMB);
      assert.equal(dst.guestId, src.guestId);
      assert.equal(dst.firmware, src.firmware);
      assert.deepEqual(dst.disks.map((d) => d.capacityInBytes), src.disks.map((d) => d.capacityInBytes));
      assert.deepEqual(dst.nics.map((n) => [n.adapterType, n.network?.name]), src.nics.map((n) => [n.adapterType, n.network?.name]));
      assert.equal(dst.powerState, 'poweredOff', 'not powered on unless asked');
    } finally {
      await Promise.all([premC.logout(), cloudC.logout()]);
    }

    const prem = await connect(json.prem);
    try {
      const info = (await retrieveOne(prem, { type: 'Task', value: job.vcTask! }, ['info'])).info as { state: string; descriptionId: string; entityName?: string; entity?: { value: string } };
      assert.equal(info.state, 'success');
      assert.equal(info.descriptionId, 'com.hdm.plugin.migration.cold');
      const vm = (await new Inventory(prem).vms()).find((v) => v.name === 'app-01')!;
      assert.equal(info.entity?.value, vm.moid);
      const events = await new EventManager(prem).queryEventsFor(vm.ref);
      const ids = events.map((e) => (e as { eventTypeId?: string }).eventTypeId);
      assert.ok(ids.includes('com.hdm.plugin.migration.started'), `events: ${ids}`);
      assert.ok(ids.includes('com.hdm.plugin.migration.completed'), `events: ${ids}`);
      // Power-on was disabled during the copy and is enabled again.
      const source = new VirtualMachine(prem, vm.ref);
      await waitForTask(prem, (await source.powerOn()).ref);
      await waitForTask(prem, (await source.powerOff()).ref);
    } finally {
      await prem.logout();
    }
  });

  test('a thin disk: the ESXi Manager reads only its allocated extents and the cloud copy is bit-identical, holes included', async () => {
    // A fresh thin disk (the lab's disks are fully written) into which a guest wrote three 1 MiB regions.
    const client = await connect(json.prem);
    const vm = (await new Inventory(client).vms()).find((v) => v.name === 'web-02')!;
    await client.logout();
    const size = vm.disks[0]!.capacityInBytes;
    const file = join(datastoreDir(lab.cfg, 'prem'), flat(vm.disks[0]!.fileName!).replace(/^\[[^\]]+\] /, ''));
    const image = Buffer.alloc(size);
    const fh = await open(file, 'r+');
    try {
      await fh.truncate(0);
      await fh.truncate(size);
      for (const at of [0, Math.floor(size / 3 / 65536) * 65536, size - (1 << 20)]) {
        const data = randomBytes(1 << 20);
        data.copy(image, at);
        await fh.write(data, 0, data.length, at);
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    const wanBefore = await lab.network.wanCounters();
    const r = await hdm(json, ['migrate', 'web-02', '--to', 'cloud', '--kind', 'cold', '--name', 'web-02-thin', '--wait', '--json']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const job = JSON.parse(r.stdout) as Job;
    assert.equal(job.state, 'done', job.error);
    assert.deepEqual(job.disks?.map((d) => d.via), ['esxi']);
    const wanAfter = await lab.network.wanCounters();
    const carried = wanAfter.txBytes - wanBefore.txBytes;
    assert.ok(carried < 8 * (1 << 20), `WAN carried ${carried} bytes prem → cloud for 3 MiB of data in a ${size}-byte thin disk`);
    const arrived = await readCloudDisk(json, job.cloudVm!);
    assert.equal(sha(arrived), sha(image));
    // The scenarios below need web-02 to take a while to copy: give it a full disk again.
    await writeDisk(json, 'web-02', (n) => randomBytes(n));
  });

  test('bad requests: unknown VM 404, powered-on 409, name taken 409, malformed body 400 listing fields', async () => {
    const api = lab.api();
    const unknown = await api.call<{ message: string }>('POST', '/api/v1/migrations', { vm: 'vm-99999', cloud: 'cloud', kind: 'cold' });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /vm-99999/);
    const vms = (await api.call<Array<{ moid: string; name: string; powerState: string }>>('GET', '/api/v1/vms')).body;
    const on = vms.find((v) => v.powerState === 'poweredOn')!;
    const r409 = await api.call<{ message: string }>('POST', '/api/v1/migrations', { vm: on.moid, cloud: 'cloud', kind: 'cold' });
    assert.equal(r409.status, 409);
    assert.match(r409.body.message, /poweredOn/);
    const web02 = vms.find((v) => v.name === 'web-02')!;
    const taken = await api.call<{ message: string }>('POST', '/api/v1/migrations', { vm: web02.moid, cloud: 'cloud', kind: 'cold', targetName: 'app-01' });
    assert.equal(taken.status, 409);
    assert.match(taken.body.message, /exists already/);
    const bad = await api.call<{ message: string }>('POST', '/api/v1/migrations', { vm: 42, kind: 'warp', powerOn: 'yes' });
    assert.equal(bad.status, 400);
    for (const field of ['vm', 'cloud', 'kind', 'powerOn']) assert.match(bad.body.message, new RegExp(field));
    const cli = await hdm(json, ['migrate', 'no-such-vm', '--to', 'cloud']);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, /no VM "no-such-vm"/);
  });

  test('cancel stops the copy and undoes the cloud side', async () => {
    await lab.network.shape(40);
    try {
      const r = await hdm(json, ['migrate', 'web-02', '--to', 'cloud', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const { id } = JSON.parse(r.stdout) as Job;
      await waitFor('bytes moving', async () => ((await jobs(json)).find((j) => j.id === id)?.bytesDone ?? 0) > 0 || undefined);
      // During the copy the source VM cannot be powered on.
      const prem = await connect(json.prem);
      try {
        const src = (await new Inventory(prem).vms()).find((v) => v.name === 'web-02')!;
        await assert.rejects(new VirtualMachine(prem, src.ref).powerOn(), (e: Error & { faultName?: string }) => e.faultName === 'MethodDisabled');
      } finally {
        await prem.logout();
      }
      const c = await hdm(json, ['cancel', id, '--wait']);
      assert.equal(c.code, 0, c.stderr);
      const job = (await jobs(json)).find((j) => j.id === id)!;
      assert.equal(job.state, 'cancelled');
      const cloud = await connect(json.cloud);
      try {
        const names = (await new Inventory(cloud).vms()).map((v) => v.name);
        assert.ok(!names.includes('web-02'), `cloud still has ${names}`);
      } finally {
        await cloud.logout();
      }
    } finally {
      await lab.network.shape(lab.cfg.wanMbit);
    }
  });

  test('Cancel on the vCenter task (vSphere Client) cancels the job', async () => {
    await lab.network.shape(40);
    try {
      const r = await hdm(json, ['migrate', 'web-02', '--to', 'cloud', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const { id } = JSON.parse(r.stdout) as Job;
      const running = await waitFor('bytes moving', async () => {
        const j = (await jobs(json)).find((x) => x.id === id);
        return j && j.bytesDone > 0 && j.vcTask ? j : undefined;
      });
      const prem = await connect(json.prem);
      try {
        await new Task(prem, { type: 'Task', value: running.vcTask! }).cancel();
        const end = await waitFor('job end', async () => {
          const j = (await jobs(json)).find((x) => x.id === id)!;
          return ['done', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
        });
        assert.equal(end.state, 'cancelled');
        const info = (await retrieveOne(prem, { type: 'Task', value: running.vcTask! }, ['info'])).info as { state: string; error?: { fault?: { _type?: string } } };
        assert.equal(info.state, 'error');
        assert.equal(info.error?.fault?._type, 'RequestCanceled');
      } finally {
        await prem.logout();
      }
    } finally {
      await lab.network.shape(lab.cfg.wanMbit);
    }
  });

  test('kill -9 of the server mid-copy: the job goes on after a restart and ends bit-identical', async () => {
    const written = await writeDisk(json, 'web-02', (size) => randomBytes(size));
    await lab.network.shape(30); // ~9 s for 32 MiB: room to kill the server mid-copy
    try {
      const r = await hdm(json, ['migrate', 'web-02', '--to', 'cloud', '--json']);
      assert.equal(r.code, 0, r.stderr);
      const { id } = JSON.parse(r.stdout) as Job;
      await waitFor('bytes moving', async () => ((await jobs(json)).find((j) => j.id === id)?.bytesDone ?? 0) > 0 || undefined);
      const seen = (await jobs(json)).find((j) => j.id === id)!;
      assert.equal(seen.state, 'running');
      await lab.killPlugin();
      await lab.startPlugin();
      const after = (await jobs(json)).find((j) => j.id === id);
      assert.ok(after, '`hdm jobs` shows the job after the restart');
      const done = await waitFor('job end', async () => {
        const j = (await jobs(json)).find((x) => x.id === id)!;
        return ['done', 'failed', 'cancelled'].includes(j.state) ? j : undefined;
      });
      assert.equal(done.state, 'done', done.error);
      const arrived = await readCloudDisk(json, done.cloudVm!);
      assert.equal(sha(arrived), sha(written));
    } finally {
      await lab.network.shape(lab.cfg.wanMbit);
    }
  });

  test('a cloud whose certificate changed is refused until an administrator accepts the new one', async () => {
    const cloud = await lab.restartCloudVcenter({ newCertificate: true });
    const vms = (await lab.api().call<Array<{ moid: string; name: string }>>('GET', '/api/v1/vms')).body;
    const web02 = vms.find((v) => v.name === 'web-02')!;
    const refused = await lab.api().call<{ message: string }>('POST', '/api/v1/migrations', { vm: web02.moid, cloud: 'cloud', kind: 'cold', targetName: 'web-02-b' });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.message, /certificate of cloud "cloud" changed/);
    assert.match(refused.body.message, new RegExp(cloud.thumbprint));
    const accept = await hdm(json, ['clouds', 'accept', 'cloud', cloud.thumbprint]);
    assert.equal(accept.code, 0, accept.stderr);
    const list = await hdm(json, ['clouds', '--json']);
    assert.equal((JSON.parse(list.stdout) as Array<{ thumbprint: string }>)[0]!.thumbprint, cloud.thumbprint);
  });
});
