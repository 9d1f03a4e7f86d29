import { ManagedObjectReference, PbmComplianceResult, PbmProfileId, PbmServerObjectRef } from '../generated';
import { PbmClient } from './pbm-client';

/** PbmComplianceManager: is each entity (VM home, disk) compliant with its storage policy? */
export class PbmComplianceManager {
  constructor(readonly pbm: PbmClient) {}

  private get ref(): ManagedObjectReference {
    return this.pbm.serviceContent.complianceManager;
  }

  /**
   * PbmCheckCompliance: one result per entity, against its associated policy (or `profile`):
   * complianceStatus compliant | nonCompliant | notApplicable (no policy) | unknown | outOfDate.
   */
  async checkCompliance(entities: PbmServerObjectRef[], profile?: PbmProfileId): Promise<PbmComplianceResult[]> {
    return this.pbm.invoke('PbmCheckCompliance', { _this: this.ref, entities, profile });
  }
}
