import { mkdirSync } from 'node:fs';
import { createLogger, Logger } from '../log/logger';
import { loadIdentity, TlsIdentity } from '../mtls/mtls';
import { COMMON_OPTIONS, ConfigError, HostPort, OptionSpec, parseHostPort, readOptions, splitList, usage } from './config';

export interface ServiceConfig {
  role: string;
  listen: HostPort;
  identity: TlsIdentity;
  stateDir: string;
  controlRoles: string[];
  /** Every option value by flag name (service-specific ones included). */
  options: Record<string, string | undefined>;
}

export interface RunningService {
  /** Fields added to the ready line, e.g. { control: '127.0.0.1:8000', data: '…' }. */
  ready: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * Shared main() of the appliance services: options from flags/env (exit 2 with every problem
 * listed), TLS identity, logger on stderr, one JSON ready line on stdout, graceful SIGTERM/SIGINT.
 */
export async function runService(
  role: string,
  extraOptions: OptionSpec[],
  start: (config: ServiceConfig, log: Logger) => Promise<RunningService>,
  argv = process.argv.slice(2),
  env = process.env,
): Promise<void> {
  // A service option with a common flag replaces it (e.g. another default for --control-roles).
  const specs = [...COMMON_OPTIONS.filter((c) => !extraOptions.some((e) => e.flag === c.flag)), ...extraOptions];
  let config: ServiceConfig;
  try {
    const o = readOptions(argv, env, specs);
    let identity: TlsIdentity;
    try {
      identity = loadIdentity({ certFile: o.cert!, keyFile: o.key!, caFile: o.ca!, passphraseFile: o['key-passphrase-file'] });
    } catch (err) {
      throw new ConfigError(`invalid configuration:\n  - cannot use --cert/--key/--ca${o['key-passphrase-file'] ? '/--key-passphrase-file' : ''}: ${(err as Error).message}`);
    }
    mkdirSync(o['state-dir']!, { recursive: true, mode: 0o700 });
    config = {
      role,
      listen: parseHostPort(o.listen!, '--listen'),
      identity,
      stateDir: o['state-dir']!,
      controlRoles: splitList(o['control-roles']),
      options: o,
    };
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message === 'help' ? `${usage(role, specs)}\n` : `${role}: ${err.message}\n${usage(role, specs)}\n`);
      process.exit(err.message === 'help' ? 0 : 2);
    }
    throw err;
  }
  const log = createLogger({ name: role, level: config.options['log-level'] });
  let service: RunningService;
  try {
    service = await start(config, log);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${role}: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    log.fatal({ err }, 'cannot start');
    process.stderr.write(`${role}: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ event: 'ready', role, ...service.ready })}\n`);
  log.info(service.ready, 'ready');
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    void service.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
