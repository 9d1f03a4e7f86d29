import { join } from 'node:path';
import { existsSync, writeFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { CertificateAuthority } from '@hdm/plugin-server/dist/src/pki/certificate-authority';
import { loadOrCreateMasterKey } from '@hdm/plugin-server/dist/src/pki/master-key';

/**
 * The lab's stand-in for a customer's VMCA: it issues the simulated vCenters'
 * certificates once and keeps them, so their thumbprints (pinned by HDM) stay the
 * same across lab restarts, as a real vCenter's do. Separate from the HDM CA.
 */
export function vcenterCertificate(labDir: string, site: 'prem' | 'cloud', ip: string): { certFile: string; keyFile: string } {
  const dir = join(labDir, 'vmca');
  const certFile = join(dir, `${site}-vcenter.crt.pem`);
  const keyFile = join(dir, `${site}-vcenter.key.pem`);
  if (existsSync(certFile) && existsSync(keyFile)) return { certFile, keyFile };
  const passphrase = loadOrCreateMasterKey(join(dir, 'master.key'), '');
  const ca = CertificateAuthority.loadOrCreate(dir, passphrase);
  const issued = ca.issue({ commonName: `${site}-vcenter`, altNames: [ip, 'localhost'], usage: 'server' });
  // vcsim reads an unencrypted key: it is a lab stand-in, kept 0600 in the lab directory.
  const plainKey = createPrivateKey({ key: issued.keyPem, passphrase: issued.passphrase }).export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileSync(keyFile, plainKey, { mode: 0o600 });
  writeFileSync(certFile, issued.certPem + ca.certPem);
  return { certFile, keyFile };
}
