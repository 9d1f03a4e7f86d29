import {
  FileTransferInformation, GuestFileInfo, GuestPosixFileAttributes, GuestProcessInfo, ManagedObjectReference,
  NamePasswordAuthentication,
} from '../generated';
import { readBody } from '../soap/transport';
import { VimClient } from '../soap/vim-client';
import { ManagedObject, requireRef } from './managed-object';

/**
 * Credentials of a guest OS account (vim.vm.guest.NamePasswordAuthentication). Sent with every
 * guest call; vCenter passes them to VMware Tools in the guest, which checks them
 * (InvalidGuestLogin when wrong).
 */
export interface GuestAuth {
  username: string;
  password: string;
  /** Run in the interactive desktop session (Windows); default false. */
  interactiveSession?: boolean;
}

/** What StartProgramInGuest runs (GuestProgramSpec). */
export interface GuestProgram {
  /** Absolute path of the program in the guest. */
  path: string;
  /**
   * The argument string, as one string. On Linux the Tools run `<path> <args>` through /bin/sh,
   * so redirections (`> /tmp/out 2>&1`) work; quote arguments for the shell.
   */
  args?: string;
  /** Absolute working directory in the guest (default: the user's home). */
  workingDirectory?: string;
  /** Environment on top of the Tools' own: `{ NAME: value }` or `NAME=value` strings. */
  env?: Record<string, string> | string[];
}

/** A guest file transfer URL answered with an unexpected HTTP status. */
export class GuestFileTransferError extends Error {
  constructor(readonly guestPath: string, readonly method: string, readonly status: number, body: string) {
    super(`${method} ${guestPath} (guest file transfer): HTTP ${status}${body ? `: ${body.slice(0, 200)}` : ''}`);
    this.name = 'GuestFileTransferError';
  }
}

/** waitForProcess ran out of time; the process keeps running (terminate it if needed). */
export class GuestProcessTimeoutError extends Error {
  constructor(readonly pid: number, readonly timeoutMs: number) {
    super(`guest process ${pid} still running after ${timeoutMs} ms`);
    this.name = 'GuestProcessTimeoutError';
  }
}

type VmRef = ManagedObjectReference | { ref: ManagedObjectReference };

function vmRef(vm: VmRef): ManagedObjectReference {
  return 'ref' in vm ? vm.ref : vm;
}

function toAuth(auth: GuestAuth): NamePasswordAuthentication {
  return {
    _type: 'NamePasswordAuthentication',
    interactiveSession: auth.interactiveSession ?? false,
    username: auth.username,
    password: auth.password,
  } as NamePasswordAuthentication;
}

/**
 * GuestOperationsManager with its process and file managers (vim.vm.guest.*): run programs in a
 * VM's guest OS through VMware Tools and move files in and out, e.g. to copy HDM's
 * prepare-to-migrate tool into a guest and run it. The VM must be powered on with Tools running
 * (InvalidPowerState / GuestOperationsUnavailable otherwise).
 *
 * File transfers are two steps: InitiateFileTransfer{To,From}Guest returns a one-time URL on the
 * ESXi host that runs the VM (`https://<host>/guestFile?id=…&token=…`, host `*` = the host we
 * talk to), then an HTTPS PUT/GET on it through the client's transport. The token is the
 * credential: the session cookie is not sent to another host, whose certificate is checked
 * against its `summary.config.sslThumbprint`.
 *
 * API: https://developer.broadcom.com/xapis/vsphere-web-services-api/latest/vim.vm.guest.GuestOperationsManager.html
 */
export class GuestOperationsManager extends ManagedObject {
  private managers?: Promise<{ processManager: ManagedObjectReference; fileManager: ManagedObjectReference }>;

  constructor(client: VimClient) {
    super(client, requireRef(client.serviceContent.guestOperationsManager, 'GuestOperationsManager', client));
  }

  private async processManager(): Promise<ManagedObjectReference> {
    return (await this.loadManagers()).processManager;
  }

  private async fileManager(): Promise<ManagedObjectReference> {
    return (await this.loadManagers()).fileManager;
  }

  private loadManagers(): Promise<{ processManager: ManagedObjectReference; fileManager: ManagedObjectReference }> {
    this.managers ??= this.properties(['processManager', 'fileManager']).then((p) => ({
      processManager: requireRef(p.processManager as ManagedObjectReference | undefined, 'GuestProcessManager', this.client),
      fileManager: requireRef(p.fileManager as ManagedObjectReference | undefined, 'GuestFileManager', this.client),
    }));
    this.managers.catch(() => { this.managers = undefined; });
    return this.managers;
  }

  /** StartProgramInGuest: starts `program` and returns its pid (the program runs on; see waitForProcess). */
  async startProgram(vm: VmRef, auth: GuestAuth, program: GuestProgram): Promise<number> {
    const env = program.env === undefined ? undefined
      : Array.isArray(program.env) ? program.env : Object.entries(program.env).map(([k, v]) => `${k}=${v}`);
    return this.client.invoke('StartProgramInGuest', {
      _this: await this.processManager(), vm: vmRef(vm), auth: toAuth(auth),
      spec: { programPath: program.path, arguments: program.args ?? '', workingDirectory: program.workingDirectory, envVariables: env },
    });
  }

  /** ListProcessesInGuest: the given pids (all when omitted); ended ones carry endTime and exitCode. */
  async listProcesses(vm: VmRef, auth: GuestAuth, pids?: number[]): Promise<GuestProcessInfo[]> {
    return (await this.client.invoke('ListProcessesInGuest', {
      _this: await this.processManager(), vm: vmRef(vm), auth: toAuth(auth), pids,
    })) ?? [];
  }

  /**
   * Polls ListProcessesInGuest until `pid` ended and returns its exit code (vCenter omits a zero
   * exitCode, so a missing one is 0). Polls every 100 ms, backing off to 1 s; rejects with
   * GuestProcessTimeoutError after `timeoutMs` (the process is left running).
   */
  async waitForProcess(vm: VmRef, auth: GuestAuth, pid: number, timeoutMs = 60_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let delay = 100;
    for (;;) {
      const [info] = await this.listProcesses(vm, auth, [pid]);
      if (!info) throw new Error(`guest process ${pid} is not known to the guest`);
      if (info.endTime) return info.exitCode ?? 0;
      const left = deadline - Date.now();
      if (left <= 0) throw new GuestProcessTimeoutError(pid, timeoutMs);
      await new Promise((r) => setTimeout(r, Math.min(delay, left)));
      delay = Math.min(1000, delay * 2);
    }
  }

  /**
   * Runs `script` in a Linux guest and collects its output: creates a temporary directory,
   * uploads the script (mode 0700), runs `<interpreter> <script> <args>` with stdout and stderr
   * redirected to files there, waits for it (GuestProcessTimeoutError after `timeoutMs`; the
   * process is then terminated), downloads both files and removes the directory.
   * `args` is passed to the shell as is (quote it for /bin/sh).
   */
  async runScript(vm: VmRef, auth: GuestAuth, script: Buffer | string, opts: {
    interpreter?: string; args?: string; env?: Record<string, string>; workingDirectory?: string; timeoutMs?: number;
  } = {}): Promise<{ exitCode: number; stdout: Buffer; stderr: Buffer }> {
    const dir = await this.createTemporaryDirectory(vm, auth, { prefix: 'hdm-run-' });
    try {
      await this.uploadFile(vm, auth, `${dir}/script`, Buffer.isBuffer(script) ? script : Buffer.from(script), { mode: 0o700 });
      const pid = await this.startProgram(vm, auth, {
        path: opts.interpreter ?? '/bin/sh',
        args: `${dir}/script${opts.args ? ` ${opts.args}` : ''} > ${dir}/stdout 2> ${dir}/stderr`,
        env: opts.env, workingDirectory: opts.workingDirectory ?? dir,
      });
      let exitCode: number;
      try {
        exitCode = await this.waitForProcess(vm, auth, pid, opts.timeoutMs ?? 60_000);
      } catch (e) {
        if (e instanceof GuestProcessTimeoutError) await this.terminateProcess(vm, auth, pid).catch(() => undefined);
        throw e;
      }
      const [stdout, stderr] = [await this.downloadFile(vm, auth, `${dir}/stdout`), await this.downloadFile(vm, auth, `${dir}/stderr`)];
      return { exitCode, stdout, stderr };
    } finally {
      await this.deleteDirectory(vm, auth, dir, { recursive: true }).catch(() => undefined);
    }
  }

  /** TerminateProcessInGuest (GuestProcessNotFound for unknown pids). */
  async terminateProcess(vm: VmRef, auth: GuestAuth, pid: number): Promise<void> {
    await this.client.invoke('TerminateProcessInGuest', { _this: await this.processManager(), vm: vmRef(vm), auth: toAuth(auth), pid });
  }

  /** ReadEnvironmentVariableInGuest: `NAME=value` strings of the Tools' environment (all when names omitted). */
  async readEnvironment(vm: VmRef, auth: GuestAuth, names?: string[]): Promise<string[]> {
    return (await this.client.invoke('ReadEnvironmentVariableInGuest', {
      _this: await this.processManager(), vm: vmRef(vm), auth: toAuth(auth), names,
    })) ?? [];
  }

  /**
   * Writes `bytes` to `guestPath` (InitiateFileTransferToGuest, then PUT). `overwrite` false
   * (default) fails with FileAlreadyExists when the file exists; `mode` sets POSIX permissions
   * (e.g. 0o755 for a script).
   */
  async uploadFile(vm: VmRef, auth: GuestAuth, guestPath: string, bytes: Buffer,
    opts: { overwrite?: boolean; mode?: number } = {}): Promise<void> {
    const attrs = { _type: 'GuestPosixFileAttributes', permissions: opts.mode } as GuestPosixFileAttributes;
    const url = await this.client.invoke('InitiateFileTransferToGuest', {
      _this: await this.fileManager(), vm: vmRef(vm), auth: toAuth(auth), guestFilePath: guestPath,
      fileAttributes: attrs, fileSize: bytes.length, overwrite: opts.overwrite ?? false,
    });
    const target = await this.transferTarget(vm, url);
    const res = await this.client.transport.request(target.url, {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length },
      body: bytes, thumbprint: target.thumbprint, withSession: false,
    });
    const text = (await readBody(res, 4096)).toString('utf8');
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) throw new GuestFileTransferError(guestPath, 'PUT', res.statusCode ?? 0, text);
  }

  /** Reads `guestPath` (InitiateFileTransferFromGuest, then GET) into memory. */
  async downloadFile(vm: VmRef, auth: GuestAuth, guestPath: string): Promise<Buffer> {
    const info: FileTransferInformation = await this.client.invoke('InitiateFileTransferFromGuest', {
      _this: await this.fileManager(), vm: vmRef(vm), auth: toAuth(auth), guestFilePath: guestPath,
    });
    const target = await this.transferTarget(vm, info.url);
    const res = await this.client.transport.request(target.url, { method: 'GET', thumbprint: target.thumbprint, withSession: false });
    const body = await readBody(res, Number.MAX_SAFE_INTEGER);
    if (res.statusCode !== 200) throw new GuestFileTransferError(guestPath, 'GET', res.statusCode ?? 0, body.toString('utf8'));
    if (body.length !== info.size) {
      throw new GuestFileTransferError(guestPath, 'GET', 200, `received ${body.length} bytes, the guest announced ${info.size}`);
    }
    return body;
  }

  /** MakeDirectoryInGuest (with parents by default). */
  async mkdir(vm: VmRef, auth: GuestAuth, directoryPath: string, opts: { parents?: boolean } = {}): Promise<void> {
    await this.client.invoke('MakeDirectoryInGuest', {
      _this: await this.fileManager(), vm: vmRef(vm), auth: toAuth(auth), directoryPath, createParentDirectories: opts.parents ?? true,
    });
  }

  /** CreateTemporaryDirectoryInGuest: returns the new directory's path. */
  async createTemporaryDirectory(vm: VmRef, auth: GuestAuth, opts: { prefix?: string; suffix?: string; directoryPath?: string } = {}): Promise<string> {
    return this.client.invoke('CreateTemporaryDirectoryInGuest', {
      _this: await this.fileManager(), vm: vmRef(vm), auth: toAuth(auth),
      prefix: opts.prefix ?? 'hdm', suffix: opts.suffix ?? '', directoryPath: opts.directoryPath,
    });
  }

  /** DeleteFileInGuest (FileNotFound when missing, NotAFile for directories). */
  async deleteFile(vm: VmRef, auth: GuestAuth, filePath: string): Promise<void> {
    await this.client.invoke('DeleteFileInGuest', { _this: await this.fileManager(), vm: vmRef(vm), auth: toAuth(auth), filePath });
  }

  /** DeleteDirectoryInGuest (`recursive` deletes the contents too). */
  async deleteDirectory(vm: VmRef, auth: GuestAuth, directoryPath: string, opts: { recursive?: boolean } = {}): Promise<void> {
    await this.client.invoke('DeleteDirectoryInGuest', {
      _this: await this.fileManager(), vm: vmRef(vm), auth: toAuth(auth), directoryPath, recursive: opts.recursive ?? false,
    });
  }

  /** ListFilesInGuest, following `remaining` until every entry is read. */
  async listFiles(vm: VmRef, auth: GuestAuth, filePath: string, opts: { matchPattern?: string } = {}): Promise<GuestFileInfo[]> {
    const out: GuestFileInfo[] = [];
    for (;;) {
      const page = await this.client.invoke('ListFilesInGuest', {
        _this: await this.fileManager(), vm: vmRef(vm), auth: toAuth(auth), filePath, index: out.length, matchPattern: opts.matchPattern,
      });
      out.push(...(page.files ?? []));
      if (!page.remaining || !page.files?.length) return out;
    }
  }

  /**
   * The URL to use for a transfer URL and the certificate pin for it: host `*` is the host we talk
   * to; another host (an ESXi host) is pinned to the thumbprint vCenter knows for the VM's host.
   */
  private async transferTarget(vm: VmRef, url: string): Promise<{ url: string; thumbprint?: string }> {
    const resolved = url.replace(/^(https?:\/\/)\*(?=[:/])/, `$1${this.client.transport.host}`);
    if (new URL(resolved).host === this.client.transport.host) return { url: resolved };
    const host = (await new GuestVm(this.client, vmRef(vm)).properties(['runtime.host']))['runtime.host'] as ManagedObjectReference | undefined;
    if (!host) return { url: resolved };
    const thumbprint = (await new GuestVm(this.client, host).properties(['summary.config.sslThumbprint']))['summary.config.sslThumbprint'];
    return { url: resolved, thumbprint: typeof thumbprint === 'string' && thumbprint ? thumbprint : undefined };
  }
}

/** Property reads of the VM and its host for transferTarget. */
class GuestVm extends ManagedObject {}
