import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ProgressMeter } from '../transfer/progress';
import { ConfigError, COMMON_OPTIONS, parseHostPort, readOptions } from './config';
import { HttpError, validateBody } from './control-server';
import { JobStore } from './job-store';

describe('service config', () => {
  it('lists every problem at once in a ConfigError (exit code 2)', () => {
    try {
      readOptions(['--listen', 'nope', '--cert', '/does/not/exist'], {}, COMMON_OPTIONS);
      assert.fail('expected ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /--listen: "nope" is not host:port/);
      assert.match(e.message, /--cert: file "\/does\/not\/exist" does not exist/);
      assert.match(e.message, /--key \(or HDM_KEY\) is required/);
      assert.match(e.message, /--state-dir \(or HDM_STATE_DIR\) is required/);
    }
  });

  it('takes flags over environment over defaults; rejects unknown flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdm-cfg-'));
    try {
      const f = join(dir, 'x.pem');
      writeFileSync(f, 'x');
      const env = { HDM_LISTEN: '127.0.0.1:8001', HDM_CERT: f, HDM_KEY: f, HDM_CA: f, HDM_STATE_DIR: dir };
      const o = readOptions(['--listen', '[::1]:8002'], env, COMMON_OPTIONS);
      assert.equal(o.listen, '[::1]:8002');
      assert.equal(o['control-roles'], 'plugin-server');
      assert.deepEqual(parseHostPort(o.listen!, 'x'), { host: '::1', port: 8002 });
      assert.throws(() => readOptions(['--bogus', '1'], env, COMMON_OPTIONS), ConfigError);
      assert.throws(() => parseHostPort('h:99999', 'x'), ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('joins a repeated flag with commas and reports service checks with the other problems', () => {
    const specs = [{ flag: 'item', env: 'HDM_ITEMS', help: 'x', multiple: true, check: (v: string) => v.split(',').filter((i) => !/^\w+=/.test(i)).map((i) => `"${i}" is not name=value`) }];
    assert.equal(readOptions(['--item', 'a=1', '--item', 'b=2'], { HDM_ITEMS: 'c=3' }, specs).item, 'a=1,b=2');
    assert.equal(readOptions([], { HDM_ITEMS: 'c=3' }, specs).item, 'c=3');
    assert.throws(() => readOptions(['--item', 'a=1', '--item', 'bad', '--cert', '/nope'], {}, [...COMMON_OPTIONS, ...specs]), (e: Error) => {
      assert.match(e.message, /--item: "bad" is not name=value/);
      assert.match(e.message, /--cert: file "\/nope" does not exist/);
      return true;
    });
  });
});

describe('job store', () => {
  it('writes atomically, reloads, cleans temp leftovers, refuses unsafe ids', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdm-store-'));
    try {
      const store = new JobStore<{ id: string; n: number }>(dir);
      store.save({ id: 'vm-1', n: 1 });
      store.save({ id: 'vm-1', n: 2 });
      writeFileSync(join(dir, 'jobs', 'vm-2.json.tmp-999'), '{"id":"vm-2"');
      assert.deepEqual(new JobStore<{ id: string; n: number }>(dir).loadAll(), [{ id: 'vm-1', n: 2 }]);
      assert.deepEqual(readdirSync(join(dir, 'jobs')), ['vm-1.json']);
      assert.throws(() => store.save({ id: '../x', n: 0 }), /bad job id/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('validateBody', () => {
  it('throws a 400 listing every bad field', () => {
    const schema = z.object({ a: z.string(), b: z.object({ c: z.number() }) });
    try {
      validateBody(schema, { b: { c: 'x' } });
      assert.fail('expected HttpError');
    } catch (e) {
      assert.ok(e instanceof HttpError);
      assert.equal(e.status, 400);
      assert.deepEqual(e.details?.fields, ['a', 'b.c']);
    }
  });
});

describe('ProgressMeter', () => {
  it('computes the rate over a sliding window and notifies at completion', () => {
    let t = 0;
    const seen: number[] = [];
    const m = new ProgressMeter(1000, (p) => seen.push(p.bytesDone), 3000, 200, () => t);
    t = 1000;
    m.add(100);
    t = 2000;
    m.add(100);
    assert.equal(m.snapshot().rateBytesPerSec, 100);
    t = 2001;
    m.set(1000);
    assert.equal(seen[seen.length - 1], 1000);
    assert.equal(m.snapshot().bytesTotal, 1000);
  });
});
