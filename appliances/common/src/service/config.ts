import { existsSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';

/** Bad flags or environment: the service prints the message and exits with code 2. */
export class ConfigError extends Error {
  readonly exitCode = 2;
}

export interface HostPort {
  host: string;
  port: number;
}

export function parseHostPort(value: string, what: string): HostPort {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${what}: "${value}" is not host:port (e.g. 127.0.0.1:8000)`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** The items of a comma-separated option value (roles, datastores), trimmed, empty ones dropped. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

export interface OptionSpec {
  /** Flag name without dashes, e.g. "data-listen". */
  flag: string;
  env: string;
  help: string;
  required?: boolean;
  kind?: 'hostport' | 'file' | 'dir' | 'string';
  default?: string;
  /** The flag may be repeated; the values are joined with ',' (the form the env twin takes). */
  multiple?: boolean;
  /** Service-specific checks of the value: every problem found (reported with the others). */
  check?: (value: string) => string[];
}

/** Common options of every appliance service. */
export const COMMON_OPTIONS: OptionSpec[] = [
  { flag: 'listen', env: 'HDM_LISTEN', help: 'control API host:port (mTLS; product ports 8000-8010)', required: true, kind: 'hostport' },
  { flag: 'cert', env: 'HDM_CERT', help: 'PEM certificate of this service (CN = its role)', required: true, kind: 'file' },
  { flag: 'key', env: 'HDM_KEY', help: 'PEM private key (may be encrypted)', required: true, kind: 'file' },
  { flag: 'ca', env: 'HDM_CA', help: 'PEM of the HDM CA that issues every peer', required: true, kind: 'file' },
  { flag: 'key-passphrase-file', env: 'HDM_KEY_PASSPHRASE_FILE', help: 'file holding the key passphrase', kind: 'file' },
  { flag: 'state-dir', env: 'HDM_STATE_DIR', help: 'directory for job state (JSON, written atomically)', required: true, kind: 'dir' },
  { flag: 'control-roles', env: 'HDM_CONTROL_ROLES', help: 'comma-separated client roles allowed on the control API', default: 'plugin-server' },
  { flag: 'log-level', env: 'HDM_LOG_LEVEL', help: 'fatal|error|warn|info|debug|trace|silent', default: 'info' },
];

export function usage(role: string, specs: OptionSpec[]): string {
  const lines = specs.map((s) => `  --${s.flag.padEnd(22)} ${s.env.padEnd(26)} ${s.help}${s.required ? ' (required)' : s.default ? ` (default ${s.default})` : ''}`);
  return `usage: ${role} [options]\n  flag                     environment\n${lines.join('\n')}`;
}

/**
 * Reads options from flags, then the environment, then defaults; collects every problem into
 * one ConfigError (exit code 2) instead of failing at the first.
 */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv, specs: OptionSpec[]): Record<string, string | undefined> {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const s of specs) options[s.flag] = s.multiple ? { type: 'string', multiple: true } : { type: 'string' };
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) throw new ConfigError('help');
  const out: Record<string, string | undefined> = {};
  const problems: string[] = [];
  for (const s of specs) {
    const given = values[s.flag] as string | string[] | undefined;
    const v = (Array.isArray(given) ? given.join(',') : given) ?? env[s.env] ?? s.default;
    out[s.flag] = v;
    if (v === undefined || v === '') {
      if (s.required) problems.push(`--${s.flag} (or ${s.env}) is required: ${s.help}`);
      continue;
    }
    try {
      if (s.kind === 'hostport') parseHostPort(v, `--${s.flag}`);
      if (s.kind === 'file' && !(existsSync(v) && statSync(v).isFile())) problems.push(`--${s.flag}: file "${v}" does not exist`);
      if (s.kind === 'dir' && existsSync(v) && !statSync(v).isDirectory()) problems.push(`--${s.flag}: "${v}" is not a directory`);
      if (s.check) problems.push(...s.check(v).map((p) => `--${s.flag}: ${p}`));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return out;
}
