import { existsSync, statSync } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { HttpError, splitList } from '@hdm/appliance-common';
import { DescriptorError, FlatExtent, flatExtents, MAX_DESCRIPTOR_BYTES, parseDescriptor, UnsupportedVmdkError } from './descriptor';

/** Datastore name → local directory (the lab's simulator datastore folders). */
export type Datastores = Map<string, string>;

/** A datastore name as vSphere shows it between brackets (spaces allowed). */
const DATASTORE_NAME = /^[^[\]/=,\0]+$/;

/**
 * Parses `name=/dir,name2=/dir2` (--datastore, HDM_DATASTORES). Problems are returned, not
 * thrown, so the service reports them with every other configuration problem.
 */
export function parseDatastores(value: string): { datastores: Datastores; problems: string[] } {
  const datastores: Datastores = new Map();
  const problems: string[] = [];
  for (const item of splitList(value)) {
    const eq = item.indexOf('=');
    const name = item.slice(0, eq).trim();
    const dir = item.slice(eq + 1).trim();
    if (eq <= 0 || !DATASTORE_NAME.test(name)) problems.push(`"${item}" is not name=/directory`);
    else if (!isAbsolute(dir)) problems.push(`datastore ${name}: "${dir}" is not an absolute path`);
    else if (!existsSync(dir) || !statSync(dir).isDirectory()) problems.push(`datastore ${name}: directory "${dir}" does not exist`);
    else if (datastores.has(name)) problems.push(`datastore ${name} given twice`);
    else datastores.set(name, dir);
  }
  if (datastores.size === 0 && problems.length === 0) problems.push('no datastore given');
  return { datastores, problems };
}

/** A disk's bytes: its extents in disk order, each a byte range of a file (or zeros). */
export interface DiskExtent {
  diskOffset: number;
  length: number;
  /** Real path of the extent file; undefined for a ZERO extent. */
  file?: string;
  fileOffset: number;
  writable: boolean;
}

export interface ResolvedDisk {
  /** The datastore path asked for. */
  path: string;
  /** The descriptor's createType, or `flat` when a -flat.vmdk was named directly. */
  createType: string;
  size: number;
  extents: DiskExtent[];
}

/** `[ds] dir/name.vmdk` → datastore and relative path; 400 for anything that could leave the datastore. */
export function parseDatastorePath(p: string): { datastore: string; relative: string } {
  const m = /^\[([^\]]+)\]\s*(.*)$/s.exec(p);
  if (!m) throw new HttpError(400, `"${p.slice(0, 200)}" is not a datastore path ("[datastore] dir/disk.vmdk")`);
  const relative = m[2]!;
  if (relative === '' || relative.includes('\0')) throw new HttpError(400, 'empty or invalid file path in the datastore path');
  if (relative.startsWith('/')) throw new HttpError(400, 'the file path inside a datastore must be relative');
  if (relative.split('/').includes('..')) throw new HttpError(400, 'the file path must not contain ".."');
  if (!/\.vmdk$/i.test(relative)) throw new HttpError(400, 'only .vmdk files are served');
  return { datastore: m[1]!, relative };
}

/**
 * Turns datastore paths into disks: the descriptor read and checked, every file resolved
 * through symlinks and required to stay inside its datastore's directory.
 */
export class DiskResolver {
  constructor(private readonly datastores: Datastores) {}

  async resolve(path: string): Promise<ResolvedDisk> {
    const { datastore, relative } = parseDatastorePath(path);
    const dir = this.datastores.get(datastore);
    if (dir === undefined) throw new HttpError(404, `unknown datastore "${datastore}"`);
    const root = await realpath(dir);
    const { real: file, size } = await inside(root, join(root, relative), path);
    if (/-flat\.vmdk$/i.test(relative)) {
      return { path, createType: 'flat', size, extents: [{ diskOffset: 0, length: size, file, fileOffset: 0, writable: true }] };
    }
    const text = await readDescriptorText(file);
    let layout: FlatExtent[];
    let createType: string;
    try {
      const d = parseDescriptor(text);
      createType = d.createType;
      layout = flatExtents(d);
    } catch (err) {
      if (err instanceof DescriptorError || err instanceof UnsupportedVmdkError) throw new HttpError(422, `${path}: ${err.message}`);
      throw err;
    }
    const extents: DiskExtent[] = [];
    let at = 0;
    for (const e of layout) {
      const x: DiskExtent = { diskOffset: at, length: e.length, fileOffset: e.fileOffset, writable: e.writable };
      if (e.file !== undefined) {
        if (isAbsolute(e.file)) throw new HttpError(403, `${path}: extent file "${e.file}" is an absolute path`);
        const { real, size: has } = await inside(root, join(dirname(file), e.file), `${path} extent "${e.file}"`);
        x.file = real;
        if (has < e.fileOffset + e.length) throw new HttpError(422, `${path}: extent file "${e.file}" holds ${has} bytes, the descriptor needs ${e.fileOffset + e.length}`);
      }
      extents.push(x);
      at += e.length;
    }
    return { path, createType, size: at, extents };
  }
}

/** Real path and size of `candidate`, which must be a regular file under `root` (symlinks followed). */
async function inside(root: string, candidate: string, what: string): Promise<{ real: string; size: number }> {
  let real: string;
  try {
    real = await realpath(candidate);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new HttpError(404, `${what}: no such file`);
    throw err;
  }
  if (!real.startsWith(root.endsWith(sep) ? root : root + sep)) throw new HttpError(403, `${what}: resolves outside its datastore`);
  const s = await stat(real);
  if (!s.isFile()) throw new HttpError(404, `${what}: not a file`);
  return { real, size: s.size };
}

async function readDescriptorText(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_DESCRIPTOR_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0 || (n += bytesRead) === buf.length) break;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await fh.close();
  }
}
