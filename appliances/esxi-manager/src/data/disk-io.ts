import { open, type FileHandle } from 'node:fs/promises';
import { HttpError } from '@hdm/appliance-common';
import type { DiskExtent } from '../vmdk/datastores';

/** Bytes per read while streaming: bounded memory per request, large enough for the page cache to stream. */
export const READ_PIECE = 1 << 20;
const ZEROS = Buffer.alloc(READ_PIECE);

/** The pieces of `extents` that hold disk bytes [start, end). */
function* pieces(extents: DiskExtent[], start: number, end: number): Generator<{ extent: DiskExtent; index: number; from: number; to: number }> {
  for (const [index, extent] of extents.entries()) {
    const from = Math.max(start, extent.diskOffset);
    const to = Math.min(end, extent.diskOffset + extent.length);
    if (to > from) yield { extent, index, from, to };
  }
}

/**
 * Disk bytes [start, end) across extents, in pieces of at most READ_PIECE (ZERO extents as
 * zeros). Pulled by the HTTP response, so a slow client stops the reads instead of filling memory.
 */
export async function* readDisk(extents: DiskExtent[], start: number, end: number): AsyncGenerator<Buffer> {
  for (const { extent, from, to } of pieces(extents, start, end)) {
    if (extent.file === undefined) {
      for (let at = from; at < to; at += READ_PIECE) yield ZEROS.subarray(0, Math.min(READ_PIECE, to - at));
      continue;
    }
    const fh = await open(extent.file, 'r');
    try {
      for (let at = from; at < to; ) {
        const want = Math.min(READ_PIECE, to - at);
        const buf = Buffer.allocUnsafe(want);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, extent.fileOffset + (at - extent.diskOffset) + got);
          if (bytesRead === 0) throw new Error(`${extent.file} ended at ${extent.fileOffset + (at - extent.diskOffset) + got} (shrunk while being read?)`);
          got += bytesRead;
        }
        yield buf;
        at += want;
      }
    } finally {
      await fh.close();
    }
  }
}

/** Refuses a write into [start, end) that a flat file cannot take: ZERO or read-only extents. */
export function checkWritable(extents: DiskExtent[], start: number, end: number): void {
  for (const { extent } of pieces(extents, start, end)) {
    if (extent.file === undefined) throw new HttpError(422, `bytes ${extent.diskOffset}+${extent.length} are a ZERO extent: nothing can be written there`);
    if (!extent.writable) throw new HttpError(403, `bytes ${extent.diskOffset}+${extent.length} are a read-only (RDONLY) extent`);
  }
}

/**
 * Writes `body` at disk bytes [start, end) in place (never past an extent, so never growing a
 * file), then fdatasyncs every file touched. Resolves with the files written only when all
 * `end - start` bytes are durable; a body that ends early or breaks rejects.
 */
export async function writeDisk(extents: DiskExtent[], start: number, end: number, body: AsyncIterable<Buffer>): Promise<string[]> {
  checkWritable(extents, start, end);
  const handles = new Map<number, FileHandle>();
  const handle = async (index: number, file: string): Promise<FileHandle> => {
    let fh = handles.get(index);
    if (fh) return fh;
    try {
      fh = await open(file, 'r+');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (['EACCES', 'EPERM', 'EROFS'].includes(code)) throw new HttpError(403, `extent file is not writable here (${code})`);
      throw err;
    }
    handles.set(index, fh);
    return fh;
  };
  let at = start;
  try {
    for await (const chunk of body) {
      if (at + chunk.length > end) throw new HttpError(400, `body longer than the ${end - start} bytes of the range`);
      for (const { extent, index, from, to } of pieces(extents, at, at + chunk.length)) {
        const fh = await handle(index, extent.file!);
        const part = chunk.subarray(from - at, to - at);
        for (let done = 0; done < part.length; ) {
          done += (await fh.write(part, done, part.length - done, extent.fileOffset + (from - extent.diskOffset) + done)).bytesWritten;
        }
      }
      at += chunk.length;
    }
    if (at !== end) throw new HttpError(400, `body ended after ${at - start} of ${end - start} bytes`);
    for (const fh of handles.values()) await fh.datasync();
    return [...handles.keys()].map((i) => extents[i]!.file!);
  } finally {
    await Promise.all([...handles.values()].map((fh) => fh.close().catch(() => undefined)));
  }
}
