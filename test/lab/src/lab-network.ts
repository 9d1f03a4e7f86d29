import { LabAddresses, LabConfig, labAddresses } from './lab-config';
import { sh, shQuiet } from './shell';

export class LabEnvironmentError extends Error {}

/**
 * The two sites: namespaces `<name>-prem` and `<name>-cloud` joined by a veth pair
 * (the WAN, shaped with tc tbf), and a root↔prem pair so processes in the root
 * namespace reach both sites. Safety first: the lab's whole range is blackholed
 * in the root namespace before any address exists, so a packet for a lab
 * address can never leave through the default route.
 */
export class LabNetwork {
  readonly addr: LabAddresses;

  constructor(private readonly cfg: LabConfig) {
    this.addr = labAddresses(cfg);
  }

  /** What of this lab exists now (left from a crashed run, or running). */
  async leftovers(): Promise<string[]> {
    const found: string[] = [];
    const ns = (await shQuiet('ip', ['netns', 'list'])) ?? '';
    for (const name of [this.addr.premNs, this.addr.cloudNs]) {
      if (ns.split('\n').some((l) => l.split(' ')[0] === name)) found.push(`network namespace ${name}`);
    }
    if ((await shQuiet('ip', ['link', 'show', 'dev', this.addr.rootLink])) !== undefined) found.push(`link ${this.addr.rootLink}`);
    const routes = (await shQuiet('ip', ['route', 'show', 'root', this.addr.range])) ?? '';
    for (const r of routes.split('\n').filter(Boolean)) found.push(`route "${r.trim()}"`);
    return found;
  }

  /** Refuses when the lab's namespaces, links or routes exist already (they may not be ours to remove). */
  async assertClean(): Promise<void> {
    await this.checkPrerequisites();
    const left = await this.leftovers();
    if (left.length) {
      throw new LabEnvironmentError(
        `lab "${this.cfg.name}" network already exists (${left.join(', ')}) — left from a crashed run? ` +
          `Fix: npm run lab:stop (removes them), then start again.`,
      );
    }
  }

  async up(): Promise<void> {
    await this.assertClean();
    const a = this.addr;
    // 1. Safety: blackhole the whole lab range before anything else.
    await sh('ip', ['route', 'add', 'blackhole', a.range]);
    // 2. The sites.
    for (const ns of [a.premNs, a.cloudNs]) {
      await sh('ip', ['netns', 'add', ns]);
      await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // 3. root ↔ prem.
    await sh('ip', ['link', 'add', a.rootLink, 'type', 'veth', 'peer', 'name', a.rootPeer, 'netns', a.premNs]);
    await sh('ip', ['addr', 'add', `${a.rootIp}/30`, 'dev', a.rootLink]);
    await sh('ip', ['link', 'set', a.rootLink, 'up']);
    await sh('ip', ['-n', a.premNs, 'addr', 'add', `${a.premIp}/30`, 'dev', a.rootPeer]);
    await sh('ip', ['-n', a.premNs, 'link', 'set', a.rootPeer, 'up']);
    // 4. The WAN: prem ↔ cloud.
    await sh('ip', ['-n', a.premNs, 'link', 'add', a.wanPrem, 'type', 'veth', 'peer', 'name', a.wanCloud, 'netns', a.cloudNs]);
    await sh('ip', ['-n', a.premNs, 'addr', 'add', `${a.premWanIp}/30`, 'dev', a.wanPrem]);
    await sh('ip', ['-n', a.premNs, 'link', 'set', a.wanPrem, 'up']);
    await sh('ip', ['-n', a.cloudNs, 'addr', 'add', `${a.cloudIp}/30`, 'dev', a.wanCloud]);
    await sh('ip', ['-n', a.cloudNs, 'link', 'set', a.wanCloud, 'up']);
    // 5. Routes only via the lab's own links; prem forwards between root and cloud.
    await sh('ip', ['netns', 'exec', a.premNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await sh('ip', ['route', 'add', a.wanSubnet, 'via', a.premIp, 'dev', a.rootLink]);
    await sh('ip', ['-n', a.cloudNs, 'route', 'add', a.rootSubnet, 'via', a.premWanIp, 'dev', a.wanCloud]);
    // 6. Shape the WAN in both directions.
    await this.shape(this.cfg.wanMbit);
    await this.verifyRouting();
  }

  /** Sets the WAN rate (Mbit/s) in both directions; 0 removes shaping. */
  async shape(mbit: number): Promise<void> {
    const a = this.addr;
    for (const [ns, dev] of [[a.premNs, a.wanPrem], [a.cloudNs, a.wanCloud]] as const) {
      await shQuiet('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', dev, 'root']);
      if (mbit > 0) {
        // Burst sized to the rate: 256 KiB keeps 1 Gbit/s at ~95 % of line rate; smaller rates need less.
        const burst = mbit >= 500 ? '256kb' : '64kb';
        await sh('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', burst, 'latency', '50ms']);
      }
    }
  }

  /** Byte counters of the WAN link as seen on the prem side (tx = prem → cloud). */
  async wanCounters(): Promise<{ txBytes: number; rxBytes: number }> {
    const out = await sh('ip', ['-n', this.addr.premNs, '-s', '-j', 'link', 'show', 'dev', this.addr.wanPrem]);
    const [link] = JSON.parse(out) as Array<{ stats64: { tx: { bytes: number }; rx: { bytes: number } } }>;
    return { txBytes: link!.stats64.tx.bytes, rxBytes: link!.stats64.rx.bytes };
  }

  /** Refuses to go on unless lab addresses route into the lab (never out the default route). */
  private async verifyRouting(): Promise<void> {
    const a = this.addr;
    for (const ip of [a.premIp, a.cloudIp]) {
      const route = await sh('ip', ['route', 'get', ip]);
      if (!route.includes(`dev ${a.rootLink}`)) {
        throw new LabEnvironmentError(`safety check failed: ${ip} does not route via ${a.rootLink} (${route.trim()})`);
      }
    }
    const unused = `10.99.${this.cfg.slot * 4 + 3}.9`;
    const blackholed = await shQuiet('ip', ['route', 'get', unused]);
    if (blackholed !== undefined) throw new LabEnvironmentError(`safety check failed: ${unused} is routable (${blackholed.trim()})`);
  }

  /** Removes every namespace, link and route of this lab; safe to call repeatedly. */
  async down(): Promise<void> {
    const a = this.addr;
    for (const ns of [a.premNs, a.cloudNs]) {
      const pids = ((await shQuiet('ip', ['netns', 'pids', ns])) ?? '').split('\n').filter(Boolean);
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    await shQuiet('ip', ['link', 'del', a.rootLink]);
    for (const ns of [a.premNs, a.cloudNs]) await shQuiet('ip', ['netns', 'del', ns]);
    await shQuiet('ip', ['route', 'del', a.wanSubnet]);
    // The blackhole goes last: until everything else is gone, the range stays unroutable.
    for (let i = 0; i < 4; i++) {
      if ((await shQuiet('ip', ['route', 'del', 'blackhole', a.range])) === undefined) break;
    }
  }

  private async checkPrerequisites(): Promise<void> {
    if (process.getuid?.() !== 0) {
      throw new LabEnvironmentError('the lab creates network namespaces and needs root: run it as root (sudo npm start)');
    }
    if ((await shQuiet('ip', ['-V'])) === undefined) {
      throw new LabEnvironmentError('iproute2 (`ip`) is missing: run npm run setup');
    }
  }
}
