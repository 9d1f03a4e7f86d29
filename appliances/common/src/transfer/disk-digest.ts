import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** Block size of the disk digest: fixed, independent of the chunk size a transfer uses. */
export const DIGEST_BLOCK = 4 << 20;

const ZERO_BLOCK_SHA256 = createHash('sha256').update(Buffer.alloc(DIGEST_BLOCK)).digest();

/**
 * The end-to-end digest of a disk: SHA-256 over the SHA-256 of each 4 MiB block in order (the
 * last block may be shorter; an empty disk hashes nothing, which gives SHA-256 of the empty
 * string). The same construction as Dropbox's content hash: every byte is covered by SHA-256,
 * but the per-block hashes are the ones the engine computes anyway for frame integrity and
 * dedup, so the whole-disk check costs no second pass over the data on either side.
 *
 * Bytes are fed in disk order. `add` with a whole aligned block and its SHA-256 takes the hash
 * as is; anything else (other chunk sizes, delta pieces, read-back) is hashed here.
 */
export class DiskDigest {
  private readonly outer = createHash('sha256');
  private block: Hash | undefined;
  private blockFill = 0;
  private pos = 0;

  constructor(readonly size: number) {}

  /** Bytes digested so far (the next offset expected). */
  get offset(): number {
    return this.pos;
  }

  /** `data` at `offset` (must be the next offset); `sha256` = SHA-256 of `data`, when known. */
  add(offset: number, data: Buffer, sha256?: Buffer): void {
    this.expect(offset, data.length);
    if (sha256 && this.blockFill === 0 && offset % DIGEST_BLOCK === 0 && data.length === Math.min(DIGEST_BLOCK, this.size - offset)) {
      this.outer.update(sha256);
      this.pos += data.length;
      return;
    }
    let at = 0;
    while (at < data.length) {
      const n = Math.min(DIGEST_BLOCK - this.blockFill, data.length - at);
      (this.block ??= createHash('sha256')).update(data.subarray(at, at + n));
      this.blockFill += n;
      at += n;
      this.pos += n;
      this.endBlockIfFull();
    }
  }

  /** `length` zero bytes at `offset`; whole zero blocks cost nothing. */
  addZeros(offset: number, length: number): void {
    this.expect(offset, length);
    let left = length;
    while (left > 0) {
      if (this.blockFill === 0 && left >= DIGEST_BLOCK && this.size - this.pos >= DIGEST_BLOCK) {
        this.outer.update(ZERO_BLOCK_SHA256);
        this.pos += DIGEST_BLOCK;
        left -= DIGEST_BLOCK;
        continue;
      }
      const n = Math.min(DIGEST_BLOCK - this.blockFill, left);
      this.add(this.pos, Buffer.alloc(n));
      left -= n;
    }
  }

  /** Lowercase hex; all `size` bytes must have been added. */
  digest(): string {
    if (this.pos !== this.size) throw new Error(`disk digest after ${this.pos} of ${this.size} bytes`);
    return this.outer.digest('hex');
  }

  private expect(offset: number, length: number): void {
    if (offset !== this.pos) throw new Error(`disk digest: bytes at ${offset}, expected ${this.pos}`);
    if (offset + length > this.size) throw new RangeError(`disk digest: ${offset}+${length} beyond ${this.size}`);
  }

  private endBlockIfFull(): void {
    if (this.blockFill === Math.min(DIGEST_BLOCK, this.size - (this.pos - this.blockFill))) {
      this.outer.update(this.block!.digest());
      this.block = undefined;
      this.blockFill = 0;
    }
  }
}

/** The disk digest of a whole image in memory (tests, tools). */
export function diskDigestOf(data: Buffer): string {
  const d = new DiskDigest(data.length);
  d.add(0, data);
  return d.digest();
}

/** The disk digest of an image file, read in 4 MiB blocks (tests, tools). */
export async function diskDigestOfFile(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const d = new DiskDigest(size);
    const buf = Buffer.allocUnsafe(DIGEST_BLOCK);
    while (d.offset < size) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(DIGEST_BLOCK, size - d.offset), d.offset);
      if (bytesRead === 0) throw new Error(`${path} ended at ${d.offset} of ${size}`);
      d.add(d.offset, buf.subarray(0, bytesRead));
    }
    return d.digest();
  } finally {
    await fh.close();
  }
}
