import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentLimitBytes, RateLimiter, rateSettingSchema } from './rate-limit';

const at = (hhmm: string): Date => new Date(`2026-01-01T${hhmm}:00Z`);

describe('bandwidth settings and RateLimiter', () => {
  it('time windows override the cap, wrap midnight, first match wins', () => {
    const s = { limitMbit: 100, windows: [{ from: '20:00', to: '06:00', limitMbit: 0 }, { from: '12:00', to: '13:00', limitMbit: 10 }] };
    assert.equal(currentLimitBytes(s, at('10:00')), 12_500_000);
    assert.equal(currentLimitBytes(s, at('21:30')), 0);
    assert.equal(currentLimitBytes(s, at('05:59')), 0);
    assert.equal(currentLimitBytes(s, at('06:00')), 12_500_000);
    assert.equal(currentLimitBytes(s, at('12:30')), 1_250_000);
    assert.equal(currentLimitBytes(undefined), 0);
    assert.equal(rateSettingSchema.safeParse({ limitMbit: 5, windows: [{ from: '24:00', to: '01:00', limitMbit: 1 }] }).success, false);
    assert.equal(rateSettingSchema.safeParse({ limitMbit: -1 }).success, false);
  });

  it('holds a rate, chained to a parent, and a change takes effect while waiting', async () => {
    const link = new RateLimiter({ limitMbit: 80 }); // 10 MB/s
    const job = new RateLimiter({ limitMbit: 0 }, link);
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) await job.take(500_000); // 5 MB
    const s = (performance.now() - t0) / 1000;
    assert.ok(s > 0.4 && s < 0.7, `5 MB at 10 MB/s took ${s.toFixed(3)} s`);
    job.set({ limitMbit: 8 }); // 1 MB/s: the job is now the tighter cap
    const t1 = performance.now();
    for (let i = 0; i < 4; i++) await job.take(100_000);
    const s1 = (performance.now() - t1) / 1000;
    assert.ok(s1 > 0.25 && s1 < 0.6, `0.4 MB at 1 MB/s took ${s1.toFixed(3)} s`);
    job.set({ limitMbit: 0 });
    link.set({ limitMbit: 0 });
    const t2 = performance.now();
    for (let i = 0; i < 100; i++) await job.take(1_000_000);
    assert.ok(performance.now() - t2 < 100, 'unlimited');
  });

  it('shares a cap fairly between concurrent takers (FIFO per frame)', async () => {
    const link = new RateLimiter({ limitMbit: 80 });
    const a = new RateLimiter(undefined, link);
    const b = new RateLimiter(undefined, link);
    const got = { a: 0, b: 0 };
    const stopAt = performance.now() + 600;
    const run = async (l: RateLimiter, k: 'a' | 'b'): Promise<void> => {
      while (performance.now() < stopAt) {
        await l.take(100_000);
        got[k] += 100_000;
      }
    };
    await Promise.all([run(a, 'a'), run(b, 'b')]);
    const ratio = got.a / got.b;
    assert.ok(ratio > 0.8 && ratio < 1.25, `a ${got.a} b ${got.b}`);
    assert.ok(got.a + got.b < 8_500_000, `total ${got.a + got.b} within 10 MB/s × 0.6 s + bursts`);
  });

  it('a cancelled wait rejects and leaves the queue', async () => {
    const l = new RateLimiter({ limitMbit: 0.08 }); // 10 kB/s
    await l.take(50_000); // goes into debt for 5 s
    const ctl = new AbortController();
    const p = l.take(1000, ctl.signal);
    ctl.abort();
    await assert.rejects(p, /cancelled/);
  });
});
