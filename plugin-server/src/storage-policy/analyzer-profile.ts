import {
  diskEntity, IoFilterRule, ManagedObjectReference, PbmCapabilityProfile, PbmClient, PbmComplianceManager, PbmProfileId,
  PbmProfileManager, retrieveOne, VimClient, VirtualDevice,
} from '../vsphere';

/** The storage policy the IO analyzer feature puts on the disks it watches. */
export const HDM_ANALYZER_PROFILE = 'HDM Analyzer Profile';
/** Name of HDM's VAIO filter (its VIB is `hdm-analyzer-<version>.vib`); the policy requires it. */
export const HDM_ANALYZER_FILTER = 'hdm-analyzer';
export const HDM_ANALYZER_DESCRIPTION = 'HDM IO analyzer: disks with this policy are observed by the hdm-analyzer IO filter';

export interface AnalyzerProfileOptions {
  name?: string;
  description?: string;
  filterName?: string;
}

/** Compliance of one disk of a VM with the analyzer profile. */
export interface DiskCompliance {
  diskKey: number;
  /** compliant | nonCompliant | notApplicable (no policy) | unknown | outOfDate */
  status: string;
  /** Capability ids the disk does not meet (e.g. the filter is not installed on the VM's cluster). */
  unmet: string[];
}

/**
 * The "HDM Analyzer Profile" storage policy: one requirement rule, "the hdm-analyzer IO filter
 * is present". `ensure()` creates it or brings an existing one (found by name) back to the
 * desired description/rule; `remove()` deletes it; `applyTo()` assigns it to a VM's disks and
 * `compliance()` reads whether they comply (they do once the filter is installed on the VM's
 * cluster). One instance per logged-in VimClient (PBM uses its session).
 */
export class AnalyzerProfile {
  readonly name: string;
  readonly description: string;
  readonly rule: IoFilterRule;
  private readonly profiles: PbmProfileManager;
  private readonly compliances: PbmComplianceManager;

  constructor(readonly pbm: PbmClient, opts: AnalyzerProfileOptions = {}) {
    this.name = opts.name ?? HDM_ANALYZER_PROFILE;
    this.description = opts.description ?? HDM_ANALYZER_DESCRIPTION;
    this.rule = { filterName: opts.filterName ?? HDM_ANALYZER_FILTER };
    this.profiles = new PbmProfileManager(pbm);
    this.compliances = new PbmComplianceManager(pbm);
  }

  static async open(vim: VimClient, opts?: AnalyzerProfileOptions): Promise<AnalyzerProfile> {
    return new AnalyzerProfile(await PbmClient.connect(vim), opts);
  }

  /** The policy as stored in vCenter, or undefined. */
  find(): Promise<PbmCapabilityProfile | undefined> {
    return this.profiles.findPolicyByName(this.name);
  }

  /** Creates the policy, or modifies it when its description or filter rule differ; idempotent. */
  async ensure(): Promise<{ id: PbmProfileId; action: 'created' | 'updated' | 'none' }> {
    const have = await this.find();
    if (!have) return { id: await this.profiles.createPolicy(this.name, this.description, this.rule), action: 'created' };
    if (have.description === this.description && ruleOf(have) === this.rule.filterName) return { id: have.profileId, action: 'none' };
    await this.profiles.updatePolicy(have.profileId, { description: this.description, ioFilterRule: this.rule });
    return { id: have.profileId, action: 'updated' };
  }

  /** Modifies the policy (e.g. another filter name after a filter rename); creates it when absent. */
  async modify(change: { description?: string; filterName?: string }): Promise<PbmProfileId> {
    const id = (await this.find())?.profileId ?? (await this.ensure()).id;
    await this.profiles.updatePolicy(id, {
      description: change.description, ioFilterRule: change.filterName ? { filterName: change.filterName } : undefined,
    });
    return id;
  }

  /** Deletes the policy (its disk assignments go with it); false when there was none. */
  async remove(): Promise<boolean> {
    const have = await this.find();
    if (!have) return false;
    await this.profiles.deletePolicy(have.profileId);
    return true;
  }

  /** Assigns the policy (ensured first) to the VM's disks (all, or `diskKeys`) and waits for the reconfiguration. */
  async applyTo(vm: ManagedObjectReference, diskKeys?: number[]): Promise<void> {
    const { id } = await this.ensure();
    await (await this.profiles.assignToDisks(vm, id, diskKeys)).wait();
  }

  /** PbmCheckCompliance of each disk of the VM. */
  async compliance(vm: ManagedObjectReference): Promise<DiskCompliance[]> {
    const props = await retrieveOne(this.pbm.vim, vm, ['config.hardware.device']);
    const list = (props['config.hardware.device'] as VirtualDevice[] | undefined) ?? [];
    const keys = list.filter((d) => d._type === 'VirtualDisk').map((d) => d.key);
    if (!keys.length) return [];
    const results = await this.compliances.checkCompliance(keys.map((k) => diskEntity(vm, k)));
    return keys.map((diskKey) => {
      const r = results.find((x) => x.entity.key === `${vm.value}:${diskKey}`);
      return {
        diskKey,
        status: r?.complianceStatus ?? 'unknown',
        unmet: (r?.violatedPolicies ?? []).map((v) => v.expectedValue.id.id),
      };
    });
  }
}

/** The filter name of a profile made by ioFilterConstraints (undefined for other shapes). */
function ruleOf(p: PbmCapabilityProfile): string | undefined {
  const c = p.constraints as unknown as { subProfiles?: Array<{ capability?: Array<{ id: { id: string } }> }> };
  const caps = (c.subProfiles ?? []).flatMap((s) => s.capability ?? []);
  return caps.length === 1 ? caps[0].id.id : undefined;
}
