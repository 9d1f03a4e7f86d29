import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Datacenter, DatastoreFiles, DiskChangeExtent, ManagedObjectReference, VimClient, VimFault, VirtualMachine } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';

// Changed-block tracking against the lab (test/lab/vcsim/changed_block_tracking.go): the harness
// hashes each 64 KiB block of a disk's flat file at every snapshot of a CBT-enabled VM and answers
// QueryChangedDiskAreas from real writes to the file. Writes here go through the datastore
// /folder endpoint, which has no partial write: the flat file is read, patched and PUT back whole.
const KiB = 1024;
const MiB = 1024 * KiB;
const BLOCK = 64 * KiB;
const FLAT = '[prem-ds] app-01/app-01-flat.vmdk';

/**
 * Reads `FLAT` whole, overwrites the given byte ranges and PUTs it back (a PUT truncates the file
 * first, so it cannot be streamed from itself).
 */
async function patchDisk(files: DatastoreFiles, size: number, patches: Array<{ offset: number; data: Buffer }>): Promise<void> {
  const disk = await files.read(FLAT);
  assert.equal(disk.length, size);
  for (const p of patches) p.data.copy(disk, p.offset);
  await files.upload(FLAT, disk, size);
}

describe('changed-block tracking on app-01', () => {
  let site: VcsimSite;
  let client: VimClient;
  let files: DatastoreFiles;
  let app: VirtualMachine;
  let diskKey: number;
  let capacity: number;
  let s1: ManagedObjectReference;
  let s2: ManagedObjectReference;
  let c1: string;
  const written: DiskChangeExtent[] = [
    { start: 5 * BLOCK, length: 2 * BLOCK }, // two adjacent blocks: one extent
    { start: 1000 * BLOCK, length: BLOCK },
    { start: 1600 * BLOCK, length: BLOCK }, // one byte changed in it
    { start: 4095 * BLOCK, length: BLOCK }, // the last block of 256 MiB
  ];

  before(async () => {
    site = await startVcsim({ site: 'prem' });
    client = await VimClient.connect({ url: site.url, thumbprint: site.thumbprint, username: site.username, password: site.password });
    files = (await Datacenter.find(client, 'prem-dc'))!.files();
    app = (await VirtualMachine.findByName(client, 'app-01'))!;
  });
  after(async () => {
    await client?.logout().catch(() => undefined);
    await site?.stop();
  });

  it('enable CBT; a snapshot records a change id per disk in its config', async () => {
    const [before] = await app.diskChangeIds();
    diskKey = before.key;
    capacity = before.capacityInBytes;
    assert.equal(capacity, 256 * MiB);
    assert.equal(before.fileName, '[prem-ds] app-01/app-01.vmdk');
    // A hole (2 MiB of zeros at 8 MiB) so the allocated areas are not the whole disk.
    await patchDisk(files, capacity, [{ offset: 8 * MiB, data: Buffer.alloc(2 * MiB) }]);

    await app.enableChangeTracking();
    assert.equal((await app.properties(['config.changeTrackingEnabled']))['config.changeTrackingEnabled'], true);
    const t0 = Date.now();
    s1 = await app.createSnapshot('hdm-cbt-1');
    const snapMs = Date.now() - t0;
    const [atS1] = await app.diskChangeIds(s1);
    assert.equal(atS1.key, diskKey);
    assert.match(atS1.changeId ?? '', /^52( [0-9a-f]{2}){7}-[0-9a-f]{2}( [0-9a-f]{2}){7}\/1$/);
    c1 = atS1.changeId!;
    console.log(`# CreateSnapshot_Task with CBT on a 256 MiB disk: ${snapMs} ms`);
  });

  it('changeId "*" returns the allocated (non-zero) areas, paged over the whole disk', async () => {
    const t0 = Date.now();
    const all = await app.queryChangedDiskAreas(s1, diskKey, 0, '*');
    console.log(`# QueryChangedDiskAreas "*" over 256 MiB (paged): ${Date.now() - t0} ms`);
    assert.deepEqual(all, [{ start: 0, length: 8 * MiB }, { start: 10 * MiB, length: capacity - 10 * MiB }]);
    assert.deepEqual(await app.queryChangedDiskAreas(s1, diskKey, 200 * MiB, '*'), [{ start: 200 * MiB, length: 56 * MiB }]);
  });

  it('random 64 KiB blocks written at known offsets come back as exactly those extents', async () => {
    const oneByte = 1600 * BLOCK + 12345;
    const original = await files.read(FLAT, { start: oneByte, end: oneByte });
    await patchDisk(files, capacity, [
      { offset: 5 * BLOCK, data: randomBytes(2 * BLOCK) },
      { offset: 1000 * BLOCK, data: randomBytes(BLOCK) },
      { offset: oneByte, data: Buffer.from([original[0] ^ 0xff]) },
      { offset: 4095 * BLOCK, data: randomBytes(BLOCK) },
    ]);
    // Against the current disk (the VM is powered off) ...
    assert.deepEqual(await app.queryChangedDiskAreas(undefined, diskKey, 0, c1), written);
    // ... and the backup flow: a new snapshot, changes between the two.
    s2 = await app.createSnapshot('hdm-cbt-2');
    const [atS2] = await app.diskChangeIds(s2);
    assert.equal(atS2.changeId, c1.replace(/\/1$/, '/2'));
    assert.deepEqual(await app.queryChangedDiskAreas(s2, diskKey, 0, c1), written);
    assert.deepEqual(await app.queryChangedDiskAreas(s2, diskKey, 0, atS2.changeId!), []);
    assert.deepEqual(await app.queryChangedDiskAreas(s1, diskKey, 0, c1), [], 'snapshot 1 against its own change id');
    assert.deepEqual(await app.queryChangedDiskAreas(s2, diskKey, 64 * MiB, c1), written.slice(2), 'from an offset');
  });

  it('an unknown change id is a FileFault on the disk\'s ctk file; a bad disk key is refused', async () => {
    await assert.rejects(app.queryChangedDiskAreas(s2, diskKey, 0, '52 00 00 00 00 00 00 00-00 00 00 00 00 00 00 00/9'),
      (e: unknown) => VimFault.is(e, 'FileFault') && /app-01-ctk\.vmdk/.test(String(e.detail?.file)));
    await assert.rejects(app.queryChangedDiskAreas(s2, 4242, 0, '*'), /no disk with key 4242/);
  });

  it('RemoveSnapshot_Task removes both snapshots', async () => {
    await app.removeSnapshot(s2);
    await app.removeSnapshot(s1);
    assert.equal(await app.snapshotCount(), 0);
    // The change ids stay valid against the current disk, as vCenter keeps them in the ctk file.
    assert.deepEqual(await app.queryChangedDiskAreas(undefined, diskKey, 0, c1), written);
  });
});
