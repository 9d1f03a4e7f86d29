import { ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

export interface ManagedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  /** Returns a value once a stdout line shows the process is ready. */
  readyLine?: (line: string) => unknown;
  readyTimeoutMs?: number;
}

/**
 * A child process of the lab: output goes to a log file, readiness comes from a
 * stdout line, stop() is SIGTERM then SIGKILL. Failures name the log to read.
 */
export class ManagedProcess<R = unknown> {
  private child?: ChildProcess;
  private log?: WriteStream;
  private exited?: Promise<number | null>;
  private tail: string[] = [];

  constructor(private readonly opts: ManagedProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<R> {
    const o = this.opts;
    mkdirSync(dirname(o.logFile), { recursive: true });
    this.log = createWriteStream(o.logFile, { flags: 'a' });
    const child = spawn(o.command, o.args, { env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.exited = new Promise((res) => child.on('exit', (code) => res(code)));
    const remember = (line: string) => {
      this.log?.write(line + '\n');
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
    };
    createInterface({ input: child.stderr! }).on('line', remember);
    const stdout = createInterface({ input: child.stdout! });
    return new Promise<R>((resolve, reject) => {
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        reject(new Error(`${o.name} did not become ready in ${(o.readyTimeoutMs ?? 30_000) / 1000} s; see ${o.logFile}\n${this.tail.join('\n')}`));
      }, o.readyTimeoutMs ?? 30_000);
      stdout.on('line', (line) => {
        remember(line);
        if (done || !o.readyLine) return;
        const ready = o.readyLine(line);
        if (ready !== undefined && ready !== false) {
          done = true;
          clearTimeout(timer);
          resolve(ready as R);
        }
      });
      child.on('error', (err) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(new Error(`${o.name} could not start (${o.command}): ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        reject(new Error(`${o.name} exited (${signal ?? 'code ' + code}) before it was ready; see ${o.logFile}\n${this.tail.join('\n')}`));
      });
      if (!o.readyLine) {
        done = true;
        clearTimeout(timer);
        resolve(undefined as R);
      }
    });
  }

  /** The last lines the process printed (for error messages). */
  lastLines(): string {
    return this.tail.join('\n');
  }

  async stop(graceMs = 5_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.log?.end();
      return;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
    this.log?.end();
  }
}
