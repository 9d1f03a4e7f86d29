import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpError } from '@hdm/appliance-common';
import { DiskResolver, parseDatastorePath, parseDatastores } from './datastores';

const descriptor = (createType: string, extents: string[]): string => `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="${createType}"\n\n# Extent description\n${extents.join('\n')}\n`;

describe('datastore paths and disk resolution', () => {
  let root: string;
  let ds: string;
  let outside: string;
  let resolver: DiskResolver;

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'hdm-ds-'));
    ds = join(root, 'ds1');
    outside = join(root, 'outside');
    mkdirSync(join(ds, 'app-01'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(ds, 'app-01', 'app-01.vmdk'), descriptor('vmfs', ['RW 8 VMFS "app-01-flat.vmdk"']));
    writeFileSync(join(ds, 'app-01', 'app-01-flat.vmdk'), Buffer.alloc(8 * 512));
    writeFileSync(join(ds, 'app-01', 'multi.vmdk'), descriptor('twoGbMaxExtentFlat', ['RW 4 FLAT "multi-f001.vmdk" 0', 'RW 2 ZERO', 'RDONLY 2 FLAT "multi-f002.vmdk" 1']));
    writeFileSync(join(ds, 'app-01', 'multi-f001.vmdk'), Buffer.alloc(4 * 512));
    writeFileSync(join(ds, 'app-01', 'multi-f002.vmdk'), Buffer.alloc(3 * 512));
    writeFileSync(join(ds, 'app-01', 'sparse.vmdk'), descriptor('monolithicSparse', ['RW 8 SPARSE "sparse-s.vmdk"']));
    writeFileSync(join(ds, 'app-01', 'short.vmdk'), descriptor('vmfs', ['RW 16 VMFS "app-01-flat.vmdk"']));
    writeFileSync(join(ds, 'app-01', 'binary.vmdk'), Buffer.from('KDMV\x01\x00\x00\x00\x00\x00'));
    writeFileSync(join(ds, 'app-01', 'climb.vmdk'), descriptor('vmfs', ['RW 8 VMFS "../../outside/x-flat.vmdk"']));
    writeFileSync(join(ds, 'app-01', 'absolute.vmdk'), descriptor('vmfs', ['RW 8 VMFS "/etc/passwd"']));
    writeFileSync(join(ds, 'app-01', 'gone.vmdk'), descriptor('vmfs', ['RW 8 VMFS "gone-flat.vmdk"']));
    writeFileSync(join(outside, 'x-flat.vmdk'), Buffer.alloc(8 * 512));
    writeFileSync(join(outside, 'evil.vmdk'), descriptor('vmfs', ['RW 8 VMFS "x-flat.vmdk"']));
    symlinkSync(join(outside, 'evil.vmdk'), join(ds, 'app-01', 'link.vmdk'));
    symlinkSync(join(outside, 'x-flat.vmdk'), join(ds, 'app-01', 'escape-flat.vmdk'));
    writeFileSync(join(ds, 'app-01', 'via-link.vmdk'), descriptor('vmfs', ['RW 8 VMFS "escape-flat.vmdk"']));
    mkdirSync(join(ds, 'dir.vmdk'));
    resolver = new DiskResolver(parseDatastores(`ds1=${ds}`).datastores);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const status = async (path: string): Promise<number> => {
    try {
      await resolver.resolve(path);
      return 200;
    } catch (err) {
      assert.ok(err instanceof HttpError, String(err));
      return err.status;
    }
  };

  it('resolves a descriptor, a -flat.vmdk named directly, and several extents with offsets', async () => {
    const d = await resolver.resolve('[ds1] app-01/app-01.vmdk');
    assert.equal(d.size, 4096);
    assert.equal(d.createType, 'vmfs');
    assert.deepEqual(d.extents, [{ diskOffset: 0, length: 4096, file: join(ds, 'app-01', 'app-01-flat.vmdk'), fileOffset: 0, writable: true }]);
    const flat = await resolver.resolve('[ds1]app-01/app-01-flat.vmdk');
    assert.equal(flat.createType, 'flat');
    assert.equal(flat.size, 4096);
    const m = await resolver.resolve('[ds1] app-01/multi.vmdk');
    assert.equal(m.size, 8 * 512);
    assert.deepEqual(
      m.extents.map((x) => [x.diskOffset, x.length, x.file && x.file.slice(ds.length), x.fileOffset, x.writable]),
      [[0, 2048, '/app-01/multi-f001.vmdk', 0, true], [2048, 1024, undefined, 0, false], [3072, 1024, '/app-01/multi-f002.vmdk', 512, false]],
    );
  });

  it('400 for paths that are malformed or could climb out', async () => {
    for (const p of ['ds1/app-01/app-01.vmdk', '[ds1] ', '[ds1] ../ds1/app-01/app-01.vmdk', '[ds1] app-01/../../outside/evil.vmdk', '[ds1] /etc/passwd.vmdk', '[ds1] app-01/app-01.txt', '[ds1] app-01/a\0.vmdk', '[ds1] app-01/..']) {
      assert.equal(await status(p), 400, p);
    }
    assert.throws(() => parseDatastorePath('[ds1] ..'), HttpError);
  });

  it('403 for anything resolving outside the datastore (symlinks, extent names)', async () => {
    for (const p of ['[ds1] app-01/link.vmdk', '[ds1] app-01/escape-flat.vmdk', '[ds1] app-01/via-link.vmdk', '[ds1] app-01/climb.vmdk', '[ds1] app-01/absolute.vmdk']) {
      assert.equal(await status(p), 403, p);
    }
  });

  it('404 for unknown datastores and files, 422 for disks it cannot serve', async () => {
    assert.equal(await status('[nope] app-01/app-01.vmdk'), 404);
    assert.equal(await status('[ds1] app-01/missing.vmdk'), 404);
    assert.equal(await status('[ds1] app-01/gone.vmdk'), 404);
    assert.equal(await status('[ds1] dir.vmdk'), 404);
    assert.equal(await status('[ds1] app-01/sparse.vmdk'), 422);
    assert.equal(await status('[ds1] app-01/short.vmdk'), 422);
    assert.equal(await status('[ds1] app-01/binary.vmdk'), 422);
  });

  it('parses --datastore values, listing every problem', () => {
    const ok = parseDatastores(`ds1=${ds}, datastore 2=${outside}`);
    assert.deepEqual([...ok.datastores.keys()], ['ds1', 'datastore 2']);
    assert.deepEqual(ok.problems, []);
    const bad = parseDatastores(`=${ds},x,rel=relative/dir,missing=${join(root, 'nope')},ds1=${ds},ds1=${outside}`);
    assert.equal(bad.problems.length, 5, bad.problems.join('\n'));
    assert.deepEqual(parseDatastores('').problems, ['no datastore given']);
  });
});
