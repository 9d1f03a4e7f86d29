#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { ApiClient, CliError, EXIT } from './api-client';
import type { JobView } from '../migrations/migrations.service';
import type { CloudView } from '../clouds/clouds.service';
import type { VmView } from '../vms/vms.controller';

/** `hdm` — the HDM command line: the same REST API the plugin UI uses. */
function client(): ApiClient {
  const e = process.env;
  return new ApiClient({
    server: e.HDM_SERVER_URL ?? 'https://127.0.0.1:8443',
    thumbprint: e.HDM_SERVER_THUMBPRINT,
    caFile: e.HDM_CA_FILE,
    token: e.HDM_SESSION_TOKEN,
    username: e.HDM_VC_USERNAME,
    password: e.HDM_VC_PASSWORD,
  });
}

const out = (s: string) => process.stdout.write(s + '\n');
const json = (v: unknown) => out(JSON.stringify(v, null, 2));
const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

function table(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const r of rows) out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}

async function resolveVm(api: ApiClient, nameOrMoid: string): Promise<VmView> {
  const vms = await api.call<VmView[]>('GET', '/api/v1/vms');
  const hits = vms.filter((v) => v.moid === nameOrMoid || v.name === nameOrMoid);
  if (hits.length === 0) throw new CliError(`no VM "${nameOrMoid}" in the prem vCenter`, EXIT.refused);
  if (hits.length > 1) throw new CliError(`"${nameOrMoid}" names ${hits.length} VMs (${hits.map((h) => h.moid).join(', ')}): give the moid`, EXIT.usage);
  return hits[0]!;
}

async function waitForJob(api: ApiClient, id: string, asJson: boolean): Promise<JobView> {
  const bar = asJson
    ? undefined
    : new SingleBar(
        { format: ' {bar} {percentage}% | {done}/{size} | {rate} | {state}', stream: process.stderr, noTTYOutput: true, notTTYSchedule: 2000, hideCursor: true },
        Presets.shades_classic,
      );
  let job = await api.call<JobView>('GET', `/api/v1/jobs/${id}`);
  bar?.start(Math.max(job.bytesTotal, 1), job.bytesDone, { done: mib(job.bytesDone), size: mib(job.bytesTotal), rate: '-', state: job.state });
  for (;;) {
    job = await api.call<JobView>('GET', `/api/v1/jobs/${id}`);
    bar?.setTotal(Math.max(job.bytesTotal, 1));
    bar?.update(job.bytesDone, { done: mib(job.bytesDone), size: mib(job.bytesTotal), rate: `${(job.rateBytesPerSec / 1e6).toFixed(1)} MB/s`, state: `${job.state}/${job.phase}` });
    if (['done', 'failed', 'cancelled'].includes(job.state)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  bar?.stop();
  return job;
}

export function buildProgram(): Command {
  const program = new Command('hdm')
    .description('HDM: migrate VMware VMs to a VMware cloud.\nSettings: HDM_SERVER_URL, HDM_SERVER_THUMBPRINT or HDM_CA_FILE, and HDM_SESSION_TOKEN or HDM_VC_USERNAME + HDM_VC_PASSWORD.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const clouds = program.command('clouds').description('list configured clouds').option('--json', 'machine-readable output');
  clouds.action(async (o: { json?: boolean }) => {
    const list = await client().call<CloudView[]>('GET', '/api/v1/clouds');
    if (o.json) { json(list); return; }
    table([['NAME', 'URL', 'THUMBPRINT'], ...list.map((c) => [c.name, c.url, c.pendingThumbprint ? `${c.thumbprint} (changed: ${c.pendingThumbprint})` : c.thumbprint])]);
  });
  clouds
    .command('add <name>')
    .description('add a cloud (its vCenter); the certificate is pinned on first use unless --thumbprint is given')
    .requiredOption('--url <url>', 'the cloud vCenter /sdk URL')
    .requiredOption('--username <user>')
    .option('--password <password>', 'or HDM_CLOUD_PASSWORD')
    .option('--thumbprint <sha1>')
    .option('--json')
    .action(async (name: string, o: { url: string; username: string; password?: string; thumbprint?: string; json?: boolean }) => {
      const password = o.password ?? process.env.HDM_CLOUD_PASSWORD;
      if (!password) throw new CliError('give --password or HDM_CLOUD_PASSWORD', EXIT.usage);
      const c = await client().call<CloudView>('POST', '/api/v1/clouds', { name, url: o.url, username: o.username, password, thumbprint: o.thumbprint });
      if (o.json) { json(c); return; }
      out(`cloud ${c.name} added; certificate pinned: ${c.thumbprint}`);
    });
  clouds
    .command('accept <name> <thumbprint>')
    .description("accept a cloud's new certificate")
    .action(async (name: string, thumbprint: string) => {
      const c = await client().call<CloudView>('POST', `/api/v1/clouds/${encodeURIComponent(name)}/accept-thumbprint`, { thumbprint });
      out(`cloud ${c.name} now pinned to ${c.thumbprint}`);
    });
  clouds
    .command('remove <name>')
    .action(async (name: string) => {
      await client().call('DELETE', `/api/v1/clouds/${encodeURIComponent(name)}`);
      out(`cloud ${name} removed`);
    });

  program
    .command('vms')
    .description('list the prem VMs')
    .option('--json')
    .action(async (o: { json?: boolean }) => {
      const vms = await client().call<VmView[]>('GET', '/api/v1/vms');
      if (o.json) { json(vms); return; }
      table([['MOID', 'NAME', 'POWER', 'DISKS'], ...vms.map((v) => [v.moid, v.name, v.powerState, v.disks.map((d) => mib(d.capacityBytes)).join('+')])]);
    });

  program
    .command('migrate <vm>')
    .description('migrate a VM (name or moid) to a cloud')
    .requiredOption('--to <cloud>', 'target cloud')
    .addOption(new Option('--kind <kind>', 'migration kind').choices(['cold']).default('cold'))
    .option('--name <targetName>', 'name in the cloud (default: the source name)')
    .option('--cluster <moid>')
    .option('--pool <moid>', 'resource pool')
    .option('--datastore <moid>')
    .option('--folder <moid>')
    .option('--network <src=target>', 'map a source network name to a target network id (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--power-on', 'power on the cloud VM afterwards')
    .option('--wait', 'wait until the job ends, with a progress bar')
    .option('--json')
    .action(async (vmArg: string, o: { to: string; kind: 'cold'; name?: string; cluster?: string; pool?: string; datastore?: string; folder?: string; network: string[]; powerOn?: boolean; wait?: boolean; json?: boolean }) => {
      const api = client();
      const vm = await resolveVm(api, vmArg);
      const networkMap: Record<string, string> = {};
      for (const m of o.network) {
        const [src, target] = m.split('=');
        if (!src || !target) throw new CliError(`--network "${m}": expected <source network name>=<target network id>`, EXIT.usage);
        networkMap[src] = target;
      }
      const placement = o.cluster || o.datastore ? { cluster: o.cluster, resourcePool: o.pool, datastore: o.datastore, folder: o.folder } : undefined;
      if (placement && (!placement.cluster || !placement.datastore)) throw new CliError('--cluster and --datastore go together', EXIT.usage);
      let job = await api.call<JobView>('POST', '/api/v1/migrations', {
        vm: vm.moid,
        cloud: o.to,
        kind: o.kind,
        ...(o.name ? { targetName: o.name } : {}),
        ...(placement ? { placement } : {}),
        ...(Object.keys(networkMap).length ? { networkMap } : {}),
        powerOn: !!o.powerOn,
      });
      if (!o.json) process.stderr.write(`job ${job.id}: ${vm.name} → ${o.to} (${o.kind})\n`);
      if (o.wait) job = await waitForJob(api, job.id, !!o.json);
      if (o.json) json(job);
      else out(`${job.id} ${job.state}${job.error ? `: ${job.error}` : ''}`);
      if (o.wait && job.state !== 'done') process.exitCode = EXIT.failed;
    });

  program
    .command('jobs')
    .description('list migration jobs')
    .option('--vm <moid>')
    .option('--json')
    .action(async (o: { vm?: string; json?: boolean }) => {
      const jobs = await client().call<JobView[]>('GET', `/api/v1/jobs${o.vm ? `?vm=${encodeURIComponent(o.vm)}` : ''}`);
      if (o.json) { json(jobs); return; }
      table([
        ['ID', 'VM', 'CLOUD', 'KIND', 'STATE', 'PROGRESS', 'ERROR'],
        ...jobs.map((j) => [j.id, j.vmName, j.cloud, j.kind, j.state, `${mib(j.bytesDone)}/${mib(j.bytesTotal)}`, j.error ?? '']),
      ]);
    });

  program
    .command('cancel <job>')
    .description('cancel a queued or running job; the cloud side is undone')
    .option('--wait')
    .action(async (id: string, o: { wait?: boolean }) => {
      const api = client();
      await api.call('POST', `/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
      if (o.wait) {
        const job = await waitForJob(api, id, true);
        out(`${id} ${job.state}`);
      } else out(`${id} cancelling`);
    });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : EXIT.usage;
    if (err instanceof CliError) {
      process.stderr.write(`hdm: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`hdm: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failed;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
