import { z } from 'zod';

/**
 * A bandwidth setting: a cap in Mbit/s (0 = none) and optional time windows that override it,
 * e.g. `{limitMbit: 100, windows: [{from: '20:00', to: '06:00', limitMbit: 0}]}` = 100 Mbit/s
 * except full speed from 20:00 to 06:00. Times are the appliance's UTC clock, `to` exclusive;
 * a window may wrap midnight. The first matching window wins.
 */
export interface RateWindow {
  from: string;
  to: string;
  limitMbit: number;
}
export interface RateSetting {
  limitMbit: number;
  windows?: RateWindow[];
}

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00-23:59)');
export const rateSettingSchema = z.object({
  limitMbit: z.number().min(0).max(1_000_000),
  windows: z.array(z.object({ from: hhmm, to: hhmm, limitMbit: z.number().min(0).max(1_000_000) })).max(48).optional(),
});

const minutes = (t: string): number => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));

/** The cap in bytes per second at `now` (0 = unlimited). */
export function currentLimitBytes(setting: RateSetting | undefined, now = new Date()): number {
  if (!setting) return 0;
  const m = now.getUTCHours() * 60 + now.getUTCMinutes();
  let mbit = setting.limitMbit;
  for (const w of setting.windows ?? []) {
    const a = minutes(w.from);
    const b = minutes(w.to);
    const inside = a <= b ? m >= a && m < b : m >= a || m < b;
    if (inside) {
      mbit = w.limitMbit;
      break;
    }
  }
  return Math.round((mbit * 1e6) / 8);
}

/**
 * A token bucket over wire bytes with a FIFO of waiters, chained to a parent (migration →
 * link): a frame goes out once both granted it. FIFO per frame makes concurrent disks and
 * jobs share a cap fairly (each waits its turn for one chunk at a time). The setting can
 * change at any moment (PATCH); windows are re-evaluated on every grant. A bucket may go
 * into debt by one frame (a 4 MiB chunk is not split), so the long-run rate is exact and the
 * burst is ≤ one frame + `burstSeconds` of rate.
 */
export class RateLimiter {
  private tokens = 0;
  private last = performance.now();
  private readonly queue: Array<{ n: number; resolve: () => void; reject: (e: Error) => void; signal?: AbortSignal; onAbort?: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private setting: RateSetting | undefined,
    private readonly parent?: RateLimiter,
    private readonly clock: () => Date = () => new Date(),
    private readonly burstSeconds = 0.05,
  ) {}

  set(setting: RateSetting | undefined): void {
    this.setting = setting;
    this.pump();
  }

  get(): RateSetting | undefined {
    return this.setting;
  }

  /** Bytes per second now (0 = unlimited). */
  get limit(): number {
    return currentLimitBytes(this.setting, this.clock());
  }

  /** Resolves when `n` bytes may be sent under this limiter and its parents. */
  async take(n: number, signal?: AbortSignal): Promise<void> {
    await this.takeOwn(n, signal);
    if (this.parent) await this.parent.take(n, signal);
  }

  private takeOwn(n: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new Error('transfer cancelled'));
    if (this.queue.length === 0 && this.grant(n)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w: (typeof this.queue)[number] = { n, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const at = this.queue.indexOf(w);
          if (at >= 0) this.queue.splice(at, 1);
          reject(new Error('transfer cancelled'));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queue.push(w);
      this.pump();
    });
  }

  private refill(rate: number): void {
    const t = performance.now();
    const dt = (t - this.last) / 1000;
    this.last = t;
    this.tokens = Math.min(this.tokens + dt * rate, rate * this.burstSeconds);
  }

  /** Takes n if the bucket is not in debt. */
  private grant(n: number): boolean {
    const rate = this.limit;
    if (rate <= 0) {
      this.tokens = 0;
      this.last = performance.now();
      return true;
    }
    this.refill(rate);
    if (this.tokens < 0) return false;
    this.tokens -= n;
    return true;
  }

  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length) {
      const w = this.queue[0]!;
      if (!this.grant(w.n)) break;
      this.queue.shift();
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.resolve();
    }
    if (this.queue.length) {
      const rate = this.limit;
      // Wait until the debt is paid, but look again at least every 250 ms (a PATCH or a window may change the rate).
      const ms = rate > 0 ? Math.min(250, Math.max(1, (-this.tokens / rate) * 1000)) : 0;
      this.timer = setTimeout(() => this.pump(), ms);
    }
  }
}
