import { Inject, Injectable, Logger } from '@nestjs/common';
import { join } from 'node:path';
import { HdmConfig } from '../config/hdm-config';
import { CertificateAuthority, IssuedCertificate, IssueOptions } from './certificate-authority';
import { loadOrCreateMasterKey } from './master-key';
import { SecretBox } from './secret-box';
import { loadOrIssueServerCertificate } from './server-certificate';

export const PKI_MATERIAL = Symbol('PKI_MATERIAL');

export interface PkiMaterial {
  masterKey: string;
  ca: CertificateAuthority;
  serverCertificate: IssuedCertificate & { issued: boolean };
}

/** Owns the HDM CA for the process: loads it at start, issues certificates on request. */
@Injectable()
export class PkiService {
  private readonly logger = new Logger(PkiService.name);
  readonly ca: CertificateAuthority;
  readonly serverCertificate: IssuedCertificate;

  readonly secrets: SecretBox;

  constructor(@Inject(PKI_MATERIAL) { masterKey, ca, serverCertificate }: PkiMaterial) {
    this.secrets = new SecretBox(masterKey);
    this.ca = ca;
    this.serverCertificate = serverCertificate;
    this.logger.log(`CA "${ca.subject}"; server certificate SHA-1 ${serverCertificate.sha1}`);
  }

  /** Runs before Nest starts too: the HTTPS listener needs the certificate. */
  static bootstrap(config: HdmConfig): PkiMaterial {
    const pkiDir = join(config.dataDir, 'pki');
    const masterKey = loadOrCreateMasterKey(join(config.dataDir, 'secrets', 'master.key'));
    const ca = CertificateAuthority.loadOrCreate(pkiDir, masterKey);
    const serverCertificate = loadOrIssueServerCertificate(ca, pkiDir, config.certificateNames, config.rotateCertificate);
    return { masterKey, ca, serverCertificate };
  }

  issue(opts: IssueOptions): IssuedCertificate {
    return this.ca.issue(opts);
  }
}
