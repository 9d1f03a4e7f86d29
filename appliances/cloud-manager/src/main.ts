#!/usr/bin/env node
import { join } from 'node:path';
import { ControlServer, formatHostPort, JobStore, parseHostPort, runService } from '@hdm/appliance-common';
import { registerImportRoutes } from './control/api';
import { ImportJob, ImportService } from './control/imports';
import { DataServer } from './data/data-server';

void runService(
  'cloud-manager',
  [
    { flag: 'data-listen', env: 'HDM_DATA_LISTEN', help: 'data listener host:port for prem-manager (mTLS; product ports 7000-7010, the interconnect data range)', required: true, kind: 'hostport' },
    { flag: 'file-dir', env: 'HDM_FILE_DIR', help: 'directory where file:// upload targets may be written (lab, benchmark)' },
  ],
  async (config, log) => {
    const imports = new ImportService(new JobStore<ImportJob>(config.stateDir), log.child({ part: 'imports' }), join(config.stateDir, 'work'), config.options['file-dir'] || undefined);
    const control = new ControlServer(config.identity, config.controlRoles, log.child({ part: 'control' }));
    registerImportRoutes(control, imports);
    const data = new DataServer(config.identity, imports, log.child({ part: 'data' }));
    const dataAt = parseHostPort(config.options['data-listen']!, '--data-listen');
    const c = await control.listen(config.listen.host, config.listen.port);
    const d = await data.listen(dataAt.host, dataAt.port);
    return {
      ready: { control: formatHostPort(c), data: formatHostPort(d) },
      stop: async () => {
        imports.close();
        await Promise.all([control.close(), data.close()]);
      },
    };
  },
);
