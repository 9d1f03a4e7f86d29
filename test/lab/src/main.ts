import { parseArgs } from 'node:util';
import { defaultLabConfig } from './lab-config';
import { Lab } from './lab';

const USAGE = `usage: node test/lab/dist/main.js [--wan-mbit N] [--cleanup]
  Brings up the HDM lab in the foreground (two sites, two vCenters, the plugin
  server, the client host page); Ctrl-C stops and removes all of it.
  --wan-mbit N   WAN rate in Mbit/s (0 = unshaped; default 1000 or HDM_LAB_WAN_MBIT)
  --cleanup      remove what a crashed lab left (namespaces, links, routes, processes)`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { 'wan-mbit': { type: 'string' }, cleanup: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  } catch (err) {
    console.error(`lab: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    console.log(USAGE);
    return 0;
  }
  const cfg = defaultLabConfig();
  if (args.values['wan-mbit'] !== undefined) {
    const n = Number(args.values['wan-mbit']);
    if (!Number.isFinite(n) || n < 0) {
      console.error(`lab: --wan-mbit must be a non-negative number\n${USAGE}`);
      return 2;
    }
    cfg.wanMbit = n;
  }
  const log = (m: string) => console.log(`[lab] ${m}`);
  if (args.values.cleanup) {
    const removed = await Lab.cleanup(cfg);
    log(removed.length ? `removed: ${removed.join(', ')}` : 'nothing to remove');
    return 0;
  }

  const lab = new Lab(cfg, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping the lab`);
    await lab.stop();
    log('stopped; no lab process, namespace, link or route is left');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const json = await lab.start();
  console.log(`
HDM lab ready
  vSphere Client (stand-in)  ${json.client.url}
  prem vCenter               ${json.prem.url}   ${json.prem.username} / ${json.prem.password}
  cloud vCenter              ${json.cloud.url}   ${json.cloud.username} / ${json.cloud.password}
  plugin server              ${json.plugin.url}   manifest ${json.plugin.manifestUrl}
  extension key              ${json.plugin.extensionKey}   server thumbprint ${json.plugin.thumbprint}
  WAN                        ${json.wan.mbit || 'unshaped'} Mbit/s between ${json.wan.premNamespace} and ${json.wan.cloudNamespace}
  lab.json                   ${lab.labJsonFile}
Press Ctrl-C to stop.`);
  return -1; // keep running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(`lab: ${(err as Error).message}`);
    process.exit(1);
  },
);
