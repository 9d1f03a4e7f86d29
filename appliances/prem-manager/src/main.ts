#!/usr/bin/env node
import { ConfigError, ControlServer, formatHostPort, JobStore, runService } from '@hdm/appliance-common';
import { registerExportRoutes } from './control/api';
import { ExportJob, ExportService } from './control/exports';

void runService(
  'prem-manager',
  [
    { flag: 'max-attempts', env: 'HDM_MAX_ATTEMPTS', help: 'attempts per disk before an export fails', default: '6' },
    { flag: 'chunk-mib', env: 'HDM_CHUNK_MIB', help: 'chunk size in MiB (1-4)', default: '4' },
    { flag: 'window', env: 'HDM_WINDOW', help: 'chunks in flight (read or unacknowledged)', default: '8' },
  ],
  async (config, log) => {
    const int = (flag: string, min: number, max: number): number => {
      const v = Number(config.options[flag]);
      if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`--${flag} must be an integer in ${min}..${max}`);
      return v;
    };
    const tuning = { maxAttempts: int('max-attempts', 1, 1000), chunkSize: int('chunk-mib', 1, 4) << 20, window: int('window', 1, 64) };
    const exports = new ExportService(new JobStore<ExportJob>(config.stateDir), config.identity, log.child({ part: 'exports' }), tuning);
    const control = new ControlServer(config.identity, config.controlRoles, log.child({ part: 'control' }));
    registerExportRoutes(control, exports);
    const c = await control.listen(config.listen.host, config.listen.port);
    return {
      ready: { control: formatHostPort(c) },
      stop: async () => {
        await exports.close();
        await control.close();
      },
    };
  },
);
