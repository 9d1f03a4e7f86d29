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
    { flag: 'parallel-disks', env: 'HDM_PARALLEL_DISKS', help: 'disks of one export sent at once', default: '2' },
    { flag: 'max-lanes', env: 'HDM_MAX_LANES', help: 'connections (lanes) per disk at most, added while one cannot fill the link (1 = one per disk)', default: '4' },
    { flag: 'lanes', env: 'HDM_LANES', help: 'a fixed number of lanes per disk instead of adapting (0 = adapt)', default: '0' },
    { flag: 'link-mbit', env: 'HDM_LINK_MBIT', help: 'bandwidth cap of the link in Mbit/s shared by all exports (0 = none; PUT /v1/link changes it)', default: '0' },
    { flag: 'idle-timeout-ms', env: 'HDM_IDLE_TIMEOUT_MS', help: 'a data connection silent this long is given up and reconnected', default: '60000' },
    { flag: 'file-dir', env: 'HDM_FILE_DIR', help: 'directory whose files may be export sources as file:// URLs (lab, benchmark)' },
  ],
  async (config, log) => {
    const int = (flag: string, min: number, max: number): number => {
      const v = Number(config.options[flag]);
      if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`--${flag} must be an integer in ${min}..${max}`);
      return v;
    };
    const tuning = {
      maxAttempts: int('max-attempts', 1, 1000),
      chunkSize: int('chunk-mib', 1, 4) << 20,
      window: int('window', 1, 64),
      parallelDisks: int('parallel-disks', 1, 16),
      maxLanes: int('max-lanes', 1, 16),
      lanes: int('lanes', 0, 16) || undefined,
      idleTimeoutMs: int('idle-timeout-ms', 500, 3_600_000),
      link: { limitMbit: int('link-mbit', 0, 1_000_000) },
      fileDir: config.options['file-dir'] || undefined,
    };
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
