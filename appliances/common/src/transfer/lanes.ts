import { randomBytes } from 'node:crypto';
import type { FrameChannel } from './channel';

/**
 * Several lanes (mTLS connections) per disk, feature `lanes` (README "Lanes").
 *
 * Sender: lane 0 is the disk's session (HELLO, resume, DISK_DONE); lanes 1… are extra
 * connections whose HELLO names the job, the disk, the lane number and the session token of
 * the lane-0 reply. DATA frames go to the least loaded lane; a lane that dies hands its
 * unacknowledged chunks to the others (lane 0 dying ends the attempt, which then resumes at
 * the receiver's durable prefix, as with one lane).
 *
 * How many lanes: `LaneController`. Start with one; try one more only while the disk is
 * network-bound (it waited for the socket or for ACKs, not for the rate cap and not for its
 * source or CPU); keep it only if the rate of the whole link (all disks sharing `LaneLink`)
 * over the two windows after a warm-up window beat the better of the two windows before by
 * `gain`; else drop it again and wait longer
 * before the next try (so a lane that only takes bandwidth from a sibling disk is not kept).
 */

/** The feature name in HELLO `features`. */
export const LANES_FEATURE = 'lanes';

/**
 * What every sender on one link got through, and one lane trial at a time on it. Counted when
 * the receiver ACKs (wire bytes of the frame): bytes merely handed to a new lane's socket
 * buffers would look like a gain that the link never carried.
 */
export class LaneLink {
  deliveredBytes = 0;
  private trial: object | undefined;

  tryLock(owner: object): boolean {
    if (this.trial && this.trial !== owner) return false;
    this.trial = owner;
    return true;
  }

  unlock(owner: object): void {
    if (this.trial === owner) this.trial = undefined;
  }
}

/** One measurement window of a sender: where its time went and what went on the wire. */
export interface LaneSample {
  ms: number;
  /** Wire bytes the receiver acknowledged on the whole link (LaneLink) in this window. */
  linkBytes: number;
  /** Waiting for the rate limiter (cap, or the fair share of it). */
  capMs: number;
  /** Waiting for the source (reads, chunk hashing/compression). */
  sourceMs: number;
  /** Waiting for the network: every lane's socket backpressured, or the window full of unacknowledged chunks. */
  networkMs: number;
}

export interface LaneControllerOptions {
  /** Upper bound of lanes (HDM_MAX_LANES). */
  max: number;
  /** A fixed count (HDM_LANES): no adaptation. */
  fixed?: number;
  /** Relative rise of the link's rate a new lane must bring to be kept. Default 1.15. */
  gain?: number;
  link?: LaneLink;
}

export type LaneDecision = 'add' | 'remove' | undefined;

/** The adaptation rule (pure: fed one LaneSample per window, says add / remove / nothing). */
export class LaneController {
  lanes = 1;
  readonly max: number;
  readonly fixed: number | undefined;
  private readonly gain: number;
  private readonly link: LaneLink;
  private state: 'start' | 'steady' | 'warmup' | 'trial' = 'start';
  /** Link rates of the last (up to two) windows at the current lane count. */
  private recent: number[] = [];
  private baseline = 0;
  private trial = { windows: 0, bytes: 0, ms: 0 };
  private holdoff = 0;
  private backoff = 2;

  constructor(opts: LaneControllerOptions) {
    this.fixed = opts.fixed && opts.fixed > 0 ? Math.min(opts.fixed, 64) : undefined;
    this.max = this.fixed ?? Math.max(1, opts.max);
    this.gain = opts.gain ?? 1.15;
    this.link = opts.link ?? new LaneLink();
    if (this.fixed) this.lanes = this.fixed;
  }

  /** Network-bound: mostly waiting for the network, hardly for the cap or the source. */
  static networkBound(s: LaneSample): boolean {
    return s.capMs < 0.2 * s.ms && s.sourceMs < 0.2 * s.ms && s.networkMs >= 0.5 * s.ms;
  }

  /**
   * Rates swing by window (a checkpoint's fsync, BBR's periodic RTT probe): the baseline is the
   * better of two windows and the trial spans two, so a dip before a trial does not pass for a gain.
   */
  decide(s: LaneSample): LaneDecision {
    if (this.fixed || s.ms <= 0) return undefined;
    const rate = s.linkBytes / s.ms;
    if (this.state === 'start') {
      // The first window holds the handshake and the first chunks: no baseline to judge by.
      this.state = 'steady';
      return undefined;
    }
    if (this.state === 'warmup') {
      // The new connection's handshake and slow start: not a fair window to judge it by.
      this.state = 'trial';
      this.trial = { windows: 0, bytes: 0, ms: 0 };
      this.recent = [];
      return undefined;
    }
    if (this.state === 'trial') {
      this.trial.windows++;
      this.trial.bytes += s.linkBytes;
      this.trial.ms += s.ms;
      this.recent.push(rate);
      if (this.trial.windows < 2) return undefined;
      this.state = 'steady';
      if (this.trial.bytes / this.trial.ms >= this.baseline * this.gain) {
        // It helped: its two windows are the baseline of the next lane's trial, tried at once.
        this.backoff = 2;
        if (this.lanes < this.max && LaneController.networkBound(s)) return this.grow();
        this.link.unlock(this);
        return undefined;
      }
      this.link.unlock(this);
      this.lanes--;
      this.recent = [];
      this.holdoff = this.backoff;
      this.backoff = Math.min(this.backoff * 2, 64);
      return 'remove';
    }
    this.recent = [...this.recent, rate].slice(-2);
    if (this.holdoff > 0) {
      this.holdoff--;
      return undefined;
    }
    if (this.recent.length < 2 || this.lanes >= this.max || !LaneController.networkBound(s) || !this.link.tryLock(this)) return undefined;
    return this.grow();
  }

  private grow(): LaneDecision {
    this.baseline = Math.max(...this.recent);
    this.state = 'warmup';
    this.lanes++;
    return 'add';
  }

  /** The lane asked for could not be opened (or died): back to steady, try again later. */
  failed(): void {
    if (this.fixed) return;
    if (this.state === 'warmup' || this.state === 'trial') {
      this.state = 'steady';
      this.link.unlock(this);
    }
    this.recent = [];
    this.lanes = Math.max(1, this.lanes - 1);
    this.holdoff = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 64);
  }

  dispose(): void {
    this.link.unlock(this);
  }
}

/**
 * Receiver side: the handle through which extra lanes of one disk join its reception
 * (receiveDisk attaches to it). `session` goes out in the lane-0 HELLO reply; a lane HELLO
 * must present it, so a lane of an older attempt never joins a newer reception.
 */
export class LaneJoin {
  readonly session = randomBytes(16).toString('hex');
  private adder: ((channel: FrameChannel, lane: number) => Promise<void>) | undefined;

  constructor(readonly stream: number, readonly size: number) {}

  attach(adder: (channel: FrameChannel, lane: number) => Promise<void>): void {
    this.adder = adder;
  }

  detach(): void {
    this.adder = undefined;
  }

  /** Joins a lane; resolves when the lane ended (CLOSE, failure or the disk's end); undefined when the reception is gone. */
  join(channel: FrameChannel, lane: number): Promise<void> | undefined {
    return this.adder?.(channel, lane);
  }
}
