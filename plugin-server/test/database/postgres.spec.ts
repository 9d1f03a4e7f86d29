/**
 * PostgreSQL, the scale option of the HDM database (HDM_DB_URL): a real server started
 * for the test (initdb + pg_ctl as the postgres user), the same entities as SQLite.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createDataSource } from '../../src/database/database.module';
import { CloudEntity } from '../../src/clouds/cloud.entity';
import { MigrationJobEntity } from '../../src/migrations/migration-job.entity';
import { VcenterSessionEntity } from '../../src/database/vcenter-session.entity';
import { freePort } from '../support/plugin-server';

const BIN = '/usr/lib/postgresql/15/bin';

function missing(): string | undefined {
  if (!existsSync(join(BIN, 'initdb'))) return 'PostgreSQL 15 is not installed (npm run setup)';
  if (process.getuid?.() !== 0) return 'needs root to run initdb as the postgres user';
  return undefined;
}

describe('HDM database on PostgreSQL', { skip: missing() }, () => {
  let dir: string;
  let port: number;
  let ds: DataSource;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hdm-pg-'));
    chmodSync(dir, 0o777);
    port = await freePort();
    const as = (cmd: string, args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args], { stdio: 'pipe', input: '' });
    as('initdb', ['-D', join(dir, 'data'), '--auth=trust', '-U', 'postgres']);
    as('pg_ctl', ['-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
    ds = createDataSource({ dataDir: dir, databaseUrl: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await ds.initialize();
  });

  after(async () => {
    if (ds?.isInitialized) await ds.destroy();
    try {
      execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, 'pg_ctl'), '-D', join(dir, 'data'), '-m', 'immediate', 'stop'], { stdio: 'ignore' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every entity round-trips: bigints above 2^32, JSON records, dates, nulls', async () => {
    await ds.getRepository(CloudEntity).save({ name: 'cloud', url: 'https://vc/sdk', username: 'u', passwordSealed: 'v1:a:b:c', thumbprint: 'AA', pendingThumbprint: null });
    const id = '2b0d7b3c-8f7e-4a57-9d5e-0c4f8f5d9a11';
    await ds.getRepository(MigrationJobEntity).save({
      id,
      vm: 'vm-42',
      vmName: 'app-01',
      cloud: 'cloud',
      kind: 'cold',
      state: 'running',
      phase: 'transfer',
      request: { vm: 'vm-42', cloud: 'cloud', kind: 'cold', targetName: 'app-01', placement: { cluster: 'domain-c1', datastore: 'datastore-1' }, networkMap: { 'VM Network': 'network-7' }, powerOn: false },
      record: { vcTask: 'task-9', disks: [{ key: 'disk-0', size: 6_000_000_000, bytesDone: 5_000_000_000 }] },
      bytesDone: 5_000_000_000,
      bytesTotal: 6_000_000_000,
      rateBytesPerSec: 123.5,
      error: null,
      cancelRequested: false,
      requestedBy: 'administrator@vsphere.local',
      finishedAt: new Date('2026-11-25T12:00:00Z'),
    });
    await ds.getRepository(VcenterSessionEntity).save({ key: 'https://vc/sdk\nadmin', cookieSealed: 'v1:x:y:z' });

    const job = await ds.getRepository(MigrationJobEntity).findOneByOrFail({ id });
    assert.equal(job.bytesDone, 5_000_000_000);
    assert.equal(job.bytesTotal, 6_000_000_000);
    assert.equal(job.record.disks?.[0]?.size, 6_000_000_000);
    assert.equal(job.request.networkMap['VM Network'], 'network-7');
    assert.equal(job.finishedAt?.toISOString(), '2026-11-25T12:00:00.000Z');
    assert.ok(job.createdAt instanceof Date);
    assert.equal((await ds.getRepository(CloudEntity).findOneByOrFail({ name: 'cloud' })).pendingThumbprint, null);
    assert.equal((await ds.getRepository(VcenterSessionEntity).count()), 1);
  });
});
