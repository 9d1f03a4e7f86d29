/** Slot size: the largest chunk (send.ts MAX_CHUNK). */
const SLOT = 4 << 20;
/** Chunks smaller than this come from the normal allocator. */
const MIN_SLAB = 256 << 10;

/**
 * Reused chunk buffers, each a 4 MiB SharedArrayBuffer. Chunks live from their read (or their
 * arrival) until their ACK (or their write), long enough to be promoted out of V8's young
 * generation; a fresh 4 MiB allocation per chunk then kept V8 busy with old-generation
 * collections (external memory pressure: ~30 full GCs per 512 MiB received, measured). Slots
 * are reused instead, and being shared they reach the hash workers without a transfer.
 *
 * `take` returns a plain buffer when the slab is exhausted or the size is small, so a slot that
 * is never given back only costs reuse. `give` accepts only buffers it handed out and not yet
 * given back (a second give is ignored): a slot is never handed out twice at once.
 */
export class ChunkSlab {
  private static instance: ChunkSlab | undefined;
  private readonly free: SharedArrayBuffer[] = [];
  private readonly out = new Set<SharedArrayBuffer>();
  private made = 0;

  constructor(private readonly maxSlots = 48) {}

  static get shared(): ChunkSlab {
    return (ChunkSlab.instance ??= new ChunkSlab());
  }

  /** Slots handed out and not given back (tests). */
  get inUse(): number {
    return this.out.size;
  }

  take(length: number): Buffer {
    if (length < MIN_SLAB || length > SLOT) return Buffer.allocUnsafe(length);
    let sab = this.free.pop();
    if (!sab) {
      if (this.made >= this.maxSlots) return Buffer.allocUnsafeSlow(length);
      sab = new SharedArrayBuffer(SLOT);
      this.made++;
    }
    this.out.add(sab);
    return Buffer.from(sab, 0, length);
  }

  /** The buffer is no longer used by anyone: its slot may be handed out again. */
  give(buf: Buffer | undefined): void {
    const sab = buf?.buffer;
    if (!(sab instanceof SharedArrayBuffer) || !this.out.delete(sab)) return;
    this.free.push(sab);
  }
}
