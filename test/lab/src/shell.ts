import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly code: number | string | undefined,
  ) {
    super(`\`${command}\` failed (${code}): ${stderr.trim() || 'no output'}`);
  }
}

/** Runs a command without a shell; rejects with the command line and its stderr. */
export async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; code?: number | string };
    throw new CommandError([cmd, ...args].join(' '), e.stderr ?? String(err), e.code);
  }
}

/** Like sh, but a failure is ignored (teardown of things that may already be gone). */
export async function shQuiet(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    return await sh(cmd, args);
  } catch {
    return undefined;
  }
}
