/**
 * The one progress shape of HDM: engine, appliance APIs, plugin server and UI all speak it.
 */
export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  /** Average over the last few seconds; 0 before two samples exist. */
  rateBytesPerSec: number;
  /** Seconds left at the current rate (absent while the rate is 0). */
  etaSeconds?: number;
  /** Sender: bytes read from the source (a resumed prefix is read again, for the disk hash). */
  bytesRead?: number;
  /** Sender: bytes put on the wire (frame headers + payloads after zero/dedup/compression). */
  wireBytes?: number;
  /** Bytes the receiver confirmed written (ACKed), incl. a resumed prefix. */
  bytesWritten?: number;
  /** Sender: connections (lanes) carrying the disk now. */
  lanes?: number;
}

export type ProgressListener = (p: Progress) => void;

/** Counts bytes and derives a sliding-window rate; notifies a listener at most every `intervalMs`. */
export class ProgressMeter {
  private done = 0;
  private readonly samples: Array<[number, number]> = [];
  private lastNotify = 0;

  constructor(
    readonly total: number,
    private readonly listener?: ProgressListener,
    private readonly windowMs = 3000,
    private readonly intervalMs = 200,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.samples.push([this.now(), 0]);
  }

  add(n: number): void {
    this.set(this.done + n);
  }

  set(done: number): void {
    this.done = done;
    const t = this.now();
    this.samples.push([t, done]);
    while (this.samples.length > 2 && t - this.samples[1]![0] > this.windowMs) this.samples.shift();
    if (this.listener && (t - this.lastNotify >= this.intervalMs || done >= this.total)) {
      this.lastNotify = t;
      this.listener(this.snapshot());
    }
  }

  snapshot(): Progress {
    const first = this.samples[0]!;
    const last = this.samples[this.samples.length - 1]!;
    const dt = (last[0] - first[0]) / 1000;
    const rate = dt > 0 ? (last[1] - first[1]) / dt : 0;
    const r = Math.max(0, Math.round(rate));
    const p: Progress = { bytesDone: this.done, bytesTotal: this.total, rateBytesPerSec: r };
    if (r > 0) p.etaSeconds = Math.round(Math.max(0, this.total - this.done) / r);
    return p;
  }
}
