#!/usr/bin/env node
import { ControlServer, formatHostPort, type HostPort, parseHostPort, runService, splitList } from '@hdm/appliance-common';
import { registerControlRoutes } from './control/api';
import { registerDiskReads, registerDiskWrites } from './data/disk-routes';
import { AllocationCache } from './vmdk/allocation';
import { DiskResolver, parseDatastores } from './vmdk/datastores';

void runService(
  'esxi-manager',
  [
    // Defaults are the product's first ports on loopback; the lab and the appliance bind their addresses.
    { flag: 'listen', env: 'HDM_LISTEN', help: 'control API host:port (mTLS; product ports 5000-5010)', default: '127.0.0.1:5000', kind: 'hostport' },
    { flag: 'data-listen', env: 'HDM_DATA_LISTEN', help: "data listener host:port for prem-manager's bulk reads (mTLS; product ports 12000-12010)", default: '127.0.0.1:12000', kind: 'hostport' },
    { flag: 'vmdk-read-listen', env: 'HDM_VMDK_READ_LISTEN', help: 'VMDK read listener host:port (mTLS; product port 32821)', default: '127.0.0.1:32821', kind: 'hostport' },
    { flag: 'vmdk-write-listen', env: 'HDM_VMDK_WRITE_LISTEN', help: 'VMDK write listener host:port (mTLS; product port 32822)', default: '127.0.0.1:32822', kind: 'hostport' },
    {
      flag: 'datastore',
      env: 'HDM_DATASTORES',
      help: 'datastore name=/directory (repeatable; env: a=/x,b=/y)',
      required: true,
      multiple: true,
      check: (v) => parseDatastores(v).problems,
    },
    { flag: 'control-roles', env: 'HDM_CONTROL_ROLES', help: 'comma-separated client roles allowed on the control API', default: 'plugin-server,prem-manager' },
    { flag: 'data-roles', env: 'HDM_DATA_ROLES', help: 'client roles allowed on the data and VMDK read listeners', default: 'prem-manager,cloud-cache' },
    { flag: 'write-roles', env: 'HDM_WRITE_ROLES', help: 'client roles allowed on the VMDK write listener', default: 'prem-manager,cloud-cache' },
  ],
  async (config, log) => {
    const { datastores } = parseDatastores(config.options.datastore!);
    const resolver = new DiskResolver(datastores);
    const cache = new AllocationCache();
    const control = new ControlServer(config.identity, config.controlRoles, log.child({ part: 'control' }));
    registerControlRoutes(control, datastores, resolver, cache);
    // Bodies and answers of whole disks may take longer than node's default 300 s request timeout.
    const listener = (name: string, allowed: string[]): ControlServer => new ControlServer(config.identity, allowed, log.child({ part: name }), { name, requestTimeoutMs: 0 });
    const data = listener('data', splitList(config.options['data-roles']));
    const vmdkRead = listener('vmdk-read', splitList(config.options['data-roles']));
    const vmdkWrite = listener('vmdk-write', splitList(config.options['write-roles']));
    registerDiskReads(data, resolver);
    registerDiskReads(vmdkRead, resolver);
    registerDiskWrites(vmdkWrite, resolver, cache, log.child({ part: 'vmdk-write' }));
    const servers = [control, data, vmdkRead, vmdkWrite];
    const listen = async (server: ControlServer, { host, port }: HostPort): Promise<string> => formatHostPort(await server.listen(host, port));
    const at = (flag: string): HostPort => parseHostPort(config.options[flag]!, `--${flag}`);
    try {
      const ready = {
        control: await listen(control, config.listen),
        data: await listen(data, at('data-listen')),
        vmdkRead: await listen(vmdkRead, at('vmdk-read-listen')),
        vmdkWrite: await listen(vmdkWrite, at('vmdk-write-listen')),
      };
      log.info({ datastores: Object.fromEntries(datastores) }, 'datastores');
      return { ready, stop: async () => void (await Promise.all(servers.map((s) => s.close()))) };
    } catch (err) {
      await Promise.all(servers.map((s) => s.close()));
      throw err;
    }
  },
);
