// PBM (Storage Policy Based Management): client, policies, compliance. See README.md.
export { PbmClient, PbmMethodName, PBM_PATH, PBM_RETRYABLE_READS, PBM_SERVICE_INSTANCE } from './pbm-client';
export { PbmProfileManager, IoFilterRule, DATA_SERVICE_NAMESPACE, diskEntity, vmEntity, ioFilterConstraints } from './profile-manager';
export { PbmComplianceManager } from './compliance-manager';
