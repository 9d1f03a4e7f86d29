import { HttpError } from '@hdm/appliance-common';

/** An inclusive byte range, as HTTP writes them. */
export interface InclusiveRange {
  start: number;
  end: number;
}

const DIGITS = /^\d{1,15}$/; // stays below 2^53

/**
 * `Range: bytes=a-b | a- | -n` of a disk of `size` bytes (RFC 9110 §14.1.2, one range only: a
 * disk reader never needs several). Undefined without a header (the whole disk). Anything else,
 * including several ranges and ranges starting at or after the end, is a 416.
 */
export function parseRange(header: string | undefined, size: number): InclusiveRange | undefined {
  if (header === undefined) return undefined;
  const bad = (why: string): HttpError => new HttpError(416, `Range "${header.slice(0, 100)}": ${why}`, { size });
  const m = /^bytes=([^,]*)-([^,]*)$/.exec(header.trim());
  if (!m) throw bad('expected one range, bytes=first-last');
  const [a, b] = [m[1]!.trim(), m[2]!.trim()];
  if ((a !== '' && !DIGITS.test(a)) || (b !== '' && !DIGITS.test(b)) || (a === '' && b === '')) throw bad('not byte positions');
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) throw bad('empty suffix range');
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) throw bad('last byte before first byte');
  if (start >= size) throw bad(`starts at or beyond the disk's end (${size} bytes)`);
  return { start, end };
}

/**
 * `Content-Range: bytes a-b/size` of a ranged PUT: the range must lie inside the disk and the
 * size be the disk's (a writer that believes in another size is writing another disk).
 */
export function parseContentRange(header: string | undefined, size: number): InclusiveRange {
  if (header === undefined) throw new HttpError(400, 'Content-Range (bytes first-last/size) is required');
  const m = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15})$/.exec(header.trim());
  if (!m) throw new HttpError(400, `Content-Range "${header.slice(0, 100)}" is not bytes first-last/size`);
  const [start, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (end < start) throw new HttpError(400, `Content-Range "${header}": last byte before first byte`);
  if (total !== size) throw new HttpError(409, `Content-Range "${header}": the disk is ${size} bytes`, { size });
  if (end >= size) throw new HttpError(416, `Content-Range "${header}": beyond the disk's end`, { size });
  return { start, end };
}
