/**
 * The text descriptor of a VMDK (VMware "Virtual Disk Format 1.1", section "The Descriptor
 * File"): `key=value` lines (createType, parentCID, ddb.*), comments, and one line per extent,
 * `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`, sizes and offsets in 512-byte sectors.
 */

export const SECTOR = 512;

/** Descriptors are a few hundred bytes; anything larger is not one (e.g. a binary sparse file). */
export const MAX_DESCRIPTOR_BYTES = 64 << 10;

export type ExtentAccess = 'RW' | 'RDONLY' | 'NOACCESS';

export interface DescriptorExtent {
  access: ExtentAccess;
  /** Size in sectors. */
  sectors: number;
  /** FLAT, VMFS, ZERO, SPARSE, VMFSSPARSE, SESPARSE, VMFSRDM, VMFSRAW … as written. */
  type: string;
  /** File name relative to the descriptor's directory (absent for ZERO). */
  file?: string;
  /** Start of the extent inside its file, in sectors (FLAT only; 0 otherwise). */
  offset: number;
}

export interface VmdkDescriptor {
  createType: string;
  /** Every key=value line, quotes removed (ddb.* included). */
  fields: Record<string, string>;
  extents: DescriptorExtent[];
}

/** The only error parseDescriptor throws: the text is not a descriptor we can read. */
export class DescriptorError extends Error {
  constructor(message: string, readonly line?: number) {
    super(line === undefined ? message : `line ${line}: ${message}`);
  }
}

const EXTENT = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?$/;
const FIELD = /^([A-Za-z][\w.]*)\s*=\s*(?:"([^"]*)"|(\S*))$/;

/** Parses a descriptor's text; throws DescriptorError (with the line) for anything malformed. */
export function parseDescriptor(text: string): VmdkDescriptor {
  if (text.length > MAX_DESCRIPTOR_BYTES) throw new DescriptorError(`larger than ${MAX_DESCRIPTOR_BYTES} bytes: not a descriptor`);
  if (text.includes('\0')) throw new DescriptorError('binary data (a sparse VMDK header?): not a text descriptor');
  const fields: Record<string, string> = {};
  const extents: DescriptorExtent[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const e = EXTENT.exec(line);
    if (e) {
      extents.push(extentOf(e, i + 1));
      return;
    }
    const f = FIELD.exec(line);
    if (!f) throw new DescriptorError(`not a key=value or extent line: ${JSON.stringify(line.slice(0, 80))}`, i + 1);
    fields[f[1]!] = f[2] ?? f[3]!;
  });
  const createType = fields.createType;
  if (!createType) throw new DescriptorError('no createType');
  if (extents.length === 0) throw new DescriptorError('no extent lines');
  return { createType, fields, extents };
}

function extentOf(m: RegExpExecArray, line: number): DescriptorExtent {
  const sectors = safeInt(m[2]!, line);
  const type = m[3]!.toUpperCase();
  const file = m[4];
  const offset = m[5] === undefined ? 0 : safeInt(m[5], line);
  if (type !== 'ZERO' && file === undefined) throw new DescriptorError(`${type} extent without a file name`, line);
  if (file !== undefined && file === '') throw new DescriptorError('empty extent file name', line);
  return { access: m[1] as ExtentAccess, sectors, type, file, offset };
}

function safeInt(digits: string, line: number): number {
  const n = Number(digits);
  // Sectors × 512 must stay an exact JS number.
  if (!Number.isSafeInteger(n * SECTOR)) throw new DescriptorError(`number ${digits.slice(0, 30)} too large`, line);
  return n;
}

/** A well-formed descriptor of a kind this service does not read (sparse, a snapshot child, raw device). */
export class UnsupportedVmdkError extends Error {}

/** createType values whose extents are plain byte ranges of files (VMware's names, any case). */
const FLAT_CREATE_TYPES = new Set(['monolithicflat', 'twogbmaxextentflat', 'vmfs', 'vmfsthin', 'vmfspreallocated', 'vmfseagerzeroedthick']);

export interface FlatExtent {
  /** Undefined for a ZERO extent (reads as zeros, holds nothing). */
  file?: string;
  /** Byte offsets and length. */
  fileOffset: number;
  length: number;
  writable: boolean;
}

/**
 * The extents of a flat disk in disk order, in bytes. Throws UnsupportedVmdkError for disks
 * whose bytes are not plain file ranges: sparse formats (grain tables), a child of a snapshot
 * chain (its parent holds the unwritten data), raw device mappings.
 */
export function flatExtents(d: VmdkDescriptor): FlatExtent[] {
  if (!FLAT_CREATE_TYPES.has(d.createType.toLowerCase())) {
    throw new UnsupportedVmdkError(`createType "${d.createType}" is not supported: only flat disks (monolithicFlat, twoGbMaxExtentFlat, vmfs) are read; sparse and raw-device disks are not`);
  }
  const parent = d.fields.parentCID;
  if (parent !== undefined && parent.toLowerCase() !== 'ffffffff') {
    throw new UnsupportedVmdkError(`parentCID ${parent}: a delta disk of a snapshot chain is not supported (read the base disk, or consolidate first)`);
  }
  return d.extents.map((e) => {
    if (e.access === 'NOACCESS') throw new UnsupportedVmdkError(`a NOACCESS extent (${e.file ?? e.type}) cannot be read`);
    const length = e.sectors * SECTOR;
    if (e.type === 'ZERO') return { fileOffset: 0, length, writable: false };
    if (e.type !== 'FLAT' && e.type !== 'VMFS') throw new UnsupportedVmdkError(`extent type ${e.type} (${e.file}) is not supported: only FLAT, VMFS and ZERO extents`);
    return { file: e.file, fileOffset: e.offset * SECTOR, length, writable: e.access === 'RW' };
  });
}
