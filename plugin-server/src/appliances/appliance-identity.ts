import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { atomicWrite, CertificateAuthority } from '../pki/certificate-authority';

export type ApplianceRole = 'plugin-server' | 'prem-manager' | 'cloud-manager' | 'esxi-manager';

export interface IdentityFiles {
  certFile: string;
  keyFile: string;
  caFile: string;
  passphraseFile: string;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * The mTLS identity of one HDM role (certificate CN = role), issued by the HDM CA
 * and kept as files a service can be started with. Re-issued when missing,
 * near expiry or not from the current CA.
 */
export function ensureIdentity(ca: CertificateAuthority, dir: string, role: ApplianceRole, altNames: string[]): IdentityFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files: IdentityFiles = {
    certFile: join(dir, `${role}.crt.pem`),
    keyFile: join(dir, `${role}.key.pem`),
    caFile: join(dir, 'ca.crt.pem'),
    passphraseFile: join(dir, `${role}.pass`),
  };
  if (!valid(files, ca)) {
    const issued = ca.issue({ commonName: role, altNames, usage: 'both' });
    atomicWrite(files.keyFile, issued.keyPem);
    atomicWrite(files.passphraseFile, issued.passphrase);
    atomicWrite(files.certFile, issued.certPem);
  }
  writeFileSync(files.caFile, ca.certPem, { mode: 0o644 });
  return files;
}

function valid(files: IdentityFiles, ca: CertificateAuthority): boolean {
  if (![files.certFile, files.keyFile, files.passphraseFile].every(existsSync)) return false;
  try {
    const cert = new X509Certificate(readFileSync(files.certFile));
    const issuer = new X509Certificate(ca.certPem);
    return cert.verify(issuer.publicKey) && new Date(cert.validTo).getTime() - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

export function readIdentity(files: IdentityFiles): { cert: string; key: string; ca: string; passphrase: string } {
  return {
    cert: readFileSync(files.certFile, 'utf8'),
    key: readFileSync(files.keyFile, 'utf8'),
    ca: readFileSync(files.caFile, 'utf8'),
    passphrase: readFileSync(files.passphraseFile, 'utf8').trim(),
  };
}
