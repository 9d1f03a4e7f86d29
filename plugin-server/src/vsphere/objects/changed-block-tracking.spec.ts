import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { DiskChangeExtent, DiskChangeInfo } from '../generated';
import { serializeBody } from '../soap/xml-writer';
import { appendExtent, queryChangedDiskAreasPaged } from './changed-block-tracking';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('changed-block tracking request golden', () => {
  it('QueryChangedDiskAreas: snapshot, deviceKey, startOffset, changeId in order', () => {
    assert.equal(serializeBody('QueryChangedDiskAreas', {
      changeId: '52 aa/3', startOffset: 16 * MiB, deviceKey: 2000, snapshot: { type: 'VirtualMachineSnapshot', value: 'snapshot-7' },
      _this: { type: 'VirtualMachine', value: 'vm-42' },
    } as never),
    '<QueryChangedDiskAreas xmlns="urn:vim25"><_this type="VirtualMachine">vm-42</_this>' +
      '<snapshot type="VirtualMachineSnapshot">snapshot-7</snapshot><deviceKey>2000</deviceKey>' +
      '<startOffset>16777216</startOffset><changeId>52 aa/3</changeId></QueryChangedDiskAreas>');
  });

  it('CreateSnapshot_Task, RemoveSnapshot_Task, ReconfigVM_Task changeTrackingEnabled', () => {
    assert.equal(serializeBody('CreateSnapshot_Task', {
      quiesce: false, memory: false, description: 'd', name: 's1', _this: { type: 'VirtualMachine', value: 'vm-42' },
    } as never),
    '<CreateSnapshot_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-42</_this><name>s1</name><description>d</description>' +
      '<memory>false</memory><quiesce>false</quiesce></CreateSnapshot_Task>');
    assert.equal(serializeBody('RemoveSnapshot_Task', {
      consolidate: true, removeChildren: false, _this: { type: 'VirtualMachineSnapshot', value: 'snapshot-7' },
    } as never),
    '<RemoveSnapshot_Task xmlns="urn:vim25"><_this type="VirtualMachineSnapshot">snapshot-7</_this>' +
      '<removeChildren>false</removeChildren><consolidate>true</consolidate></RemoveSnapshot_Task>');
    assert.equal(serializeBody('ReconfigVM_Task', { spec: { changeTrackingEnabled: true }, _this: { type: 'VirtualMachine', value: 'vm-42' } } as never),
      '<ReconfigVM_Task xmlns="urn:vim25"><_this type="VirtualMachine">vm-42</_this><spec><changeTrackingEnabled>true</changeTrackingEnabled></spec></ReconfigVM_Task>');
  });
});

describe('appendExtent', () => {
  it('merges touching and overlapping extents, keeps gaps, ignores empty ones', () => {
    const out: DiskChangeExtent[] = [];
    appendExtent(out, { start: 0, length: 64 * KiB });
    appendExtent(out, { start: 64 * KiB, length: 64 * KiB });
    appendExtent(out, { start: 100 * KiB, length: 100 * KiB });
    appendExtent(out, { start: 1 * MiB, length: 0 });
    appendExtent(out, { start: 1 * MiB, length: 64 * KiB });
    assert.deepEqual(out, [{ start: 0, length: 200 * KiB }, { start: 1 * MiB, length: 64 * KiB }]);
  });
});

describe('queryChangedDiskAreasPaged', () => {
  // A disk of 40 MiB whose server answers 16 MiB per call; areas cross the window boundaries.
  const changed: DiskChangeExtent[] = [{ start: 1 * MiB, length: 64 * KiB }, { start: 15 * MiB, length: 3 * MiB }, { start: 40 * MiB - 64 * KiB, length: 64 * KiB }];
  const window = (offset: number): DiskChangeInfo => {
    const end = Math.min(40 * MiB, offset + 16 * MiB);
    const changedArea = changed
      .map((a) => ({ start: Math.max(a.start, offset), end: Math.min(a.start + a.length, end) }))
      .filter((a) => a.end > a.start).map((a) => ({ start: a.start, length: a.end - a.start }));
    return { startOffset: offset, length: end - offset, changedArea } as DiskChangeInfo;
  };

  it('follows startOffset+length to the capacity and merges areas split by the windows', async () => {
    const offsets: number[] = [];
    const { areas, calls } = await queryChangedDiskAreasPaged(async (o) => { offsets.push(o); return window(o); }, 0, 40 * MiB);
    assert.deepEqual(offsets, [0, 16 * MiB, 32 * MiB]);
    assert.equal(calls, 3);
    assert.deepEqual(areas, changed);
  });

  it('starts at startOffset', async () => {
    const { areas, calls } = await queryChangedDiskAreasPaged(async (o) => window(o), 20 * MiB, 40 * MiB);
    assert.equal(calls, 2);
    assert.deepEqual(areas, [changed[2]]);
  });

  it('rejects an answer that makes no progress instead of looping', async () => {
    await assert.rejects(queryChangedDiskAreasPaged(async (o) => ({ startOffset: o, length: 0 }) as DiskChangeInfo, 0, MiB), /no progress/);
  });
});
