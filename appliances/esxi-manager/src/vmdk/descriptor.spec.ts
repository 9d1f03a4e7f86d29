import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DescriptorError, flatExtents, parseDescriptor, UnsupportedVmdkError } from './descriptor';

/** What the lab's simulator writes (test/lab/vcsim/disk.go, descriptor()), its DDB cut to three of its lines. */
const VCSIM = `# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=1a2b3c4d
parentCID=ffffffff
createType="vmfs"

# Extent description
RW 8192 VMFS "app-01-flat.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.heads = "255"
ddb.uuid = "60 00 C2 9a 1b 2c 3d 4e-5f 60 71 82 93 a4 b5 c6"
`;

const withExtents = (createType: string, lines: string[], extra = ''): string =>
  `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n${extra}createType="${createType}"\n\n${lines.join('\n')}\n`;

describe('VMDK descriptor', () => {
  it("reads the lab simulator's descriptor", () => {
    const d = parseDescriptor(VCSIM);
    assert.equal(d.createType, 'vmfs');
    assert.equal(d.fields['ddb.adapterType'], 'lsilogic');
    assert.equal(d.fields.CID, '1a2b3c4d');
    assert.deepEqual(d.extents, [{ access: 'RW', sectors: 8192, type: 'VMFS', file: 'app-01-flat.vmdk', offset: 0 }]);
    assert.deepEqual(flatExtents(d), [{ file: 'app-01-flat.vmdk', fileOffset: 0, length: 8192 * 512, writable: true }]);
  });

  it('reads several flat extents with their sector offsets, ZERO and RDONLY extents, CRLF and names with spaces', () => {
    const text = withExtents('twoGbMaxExtentFlat', ['RW 4192256 FLAT "big disk-f001.vmdk" 0', 'RDONLY 100 FLAT "big disk-f002.vmdk" 2048', 'RW 64 ZERO']).replace(/\n/g, '\r\n');
    assert.deepEqual(flatExtents(parseDescriptor(text)), [
      { file: 'big disk-f001.vmdk', fileOffset: 0, length: 4192256 * 512, writable: true },
      { file: 'big disk-f002.vmdk', fileOffset: 2048 * 512, length: 100 * 512, writable: false },
      { fileOffset: 0, length: 64 * 512, writable: false },
    ]);
    assert.equal(flatExtents(parseDescriptor(withExtents('monolithicFlat', ['RW 10 FLAT "a-flat.vmdk" 0']))).length, 1);
  });

  it('refuses sparse, delta, raw and NOACCESS disks as unsupported', () => {
    const unsupported = [
      withExtents('monolithicSparse', ['RW 8192 SPARSE "a.vmdk"']),
      withExtents('streamOptimized', ['RW 8192 SPARSE "a.vmdk"']),
      withExtents('seSparse', ['RW 8192 SESPARSE "a-sesparse.vmdk"']),
      withExtents('vmfs', ['RW 8192 VMFSSPARSE "a-delta.vmdk"']),
      withExtents('vmfsRawDeviceMap', ['RW 8192 VMFSRDM "a-rdm.vmdk"']),
      withExtents('vmfs', ['NOACCESS 8192 VMFS "a-flat.vmdk"']),
      withExtents('vmfs', ['RW 8192 VMFS "a-flat.vmdk"']).replace('parentCID=ffffffff', 'parentCID=1234abcd'),
    ];
    for (const text of unsupported) assert.throws(() => flatExtents(parseDescriptor(text)), UnsupportedVmdkError, text);
  });

  it('refuses malformed descriptors with the line', () => {
    assert.throws(() => parseDescriptor('createType="vmfs"\nRW 10 VMFS "x"\nthis is not a descriptor\n'), /line 3: not a key=value or extent line/);
    assert.throws(() => parseDescriptor('version=1\nRW 10 VMFS "x"\n'), /no createType/);
    assert.throws(() => parseDescriptor('createType="vmfs"\n'), /no extent lines/);
    assert.throws(() => parseDescriptor('createType="vmfs"\nRW 10 VMFS\n'), /line 2: VMFS extent without a file name/);
    assert.throws(() => parseDescriptor('createType="vmfs"\nRW 99999999999999999999 VMFS "x"\n'), /line 2: number .* too large/);
    assert.throws(() => parseDescriptor('KDMV\0\0\0\x01'), /binary data/);
    assert.throws(() => parseDescriptor(`createType="vmfs"\n${'#'.repeat(70_000)}\n`), /not a descriptor/);
  });

  it('fuzz: never throws anything but DescriptorError / UnsupportedVmdkError', () => {
    const fragment = fc.oneof(
      fc.constantFrom('createType="vmfs"', 'createType="monolithicFlat"', 'createType=monolithicSparse', 'parentCID=ffffffff', 'parentCID=0', '# c', '', 'ddb.x = "y"', 'RW 8 ZERO', 'RW 0 VMFS "f"', 'RDONLY 1 FLAT "f" 9', 'NOACCESS 2 SPARSE "s"', 'RW 9007199254740993 FLAT "f"', 'RW 1 FLAT ""'),
      fc.string({ maxLength: 40 }),
      fc.tuple(fc.constantFrom('RW', 'RDONLY', 'NOACCESS', 'rw'), fc.nat(), fc.constantFrom('FLAT', 'VMFS', 'ZERO', 'SPARSE', 'vmfs', 'X'), fc.string({ maxLength: 8 }), fc.option(fc.nat())).map(
        ([a, n, t, f, o]) => `${a} ${n} ${t} "${f}"${o === null ? '' : ` ${o}`}`,
      ),
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        try {
          const d = parseDescriptor(lines.join(eol));
          for (const e of flatExtents(d)) assert.ok(Number.isSafeInteger(e.length) && Number.isSafeInteger(e.fileOffset) && e.length >= 0);
        } catch (err) {
          if (!(err instanceof DescriptorError || err instanceof UnsupportedVmdkError)) throw err;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
