import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWrite, CertificateAuthority, IssuedCertificate } from './certificate-authority';
import { sha1Thumbprint, sha256Thumbprint } from './thumbprint';

const RENEW_BEFORE_DAYS = 30;

/**
 * The plugin server's HTTPS certificate, issued by the HDM CA and kept in `dir`.
 * Re-issued when missing, near expiry, not from the current CA, not covering
 * `altNames`, or when `rotate` is asked for; the caller then re-registers the
 * new thumbprint with vCenter.
 */
export function loadOrIssueServerCertificate(
  ca: CertificateAuthority,
  dir: string,
  altNames: string[],
  rotate = false,
): IssuedCertificate & { issued: boolean } {
  const certFile = join(dir, 'server.crt.pem');
  const keyFile = join(dir, 'server.key.pem');
  if (!rotate && existsSync(certFile) && existsSync(keyFile)) {
    const certPem = readFileSync(certFile, 'utf8');
    const x509 = new X509Certificate(certPem);
    const caCert = new X509Certificate(ca.certPem);
    const notAfter = new Date(x509.validTo);
    const san = x509.subjectAltName ?? '';
    const covers = altNames.every((n) => san.includes(`DNS:${n}`) || san.includes(`IP Address:${n}`));
    const fresh = notAfter.getTime() - Date.now() > RENEW_BEFORE_DAYS * 86_400_000;
    if (covers && fresh && x509.verify(caCert.publicKey)) {
      return {
        certPem,
        keyPem: readFileSync(keyFile, 'utf8'),
        passphrase: ca.keyPassphrase,
        caPem: ca.certPem,
        sha1: sha1Thumbprint(certPem),
        sha256: sha256Thumbprint(certPem),
        notAfter,
        issued: false,
      };
    }
  }
  const cert = ca.issue({ commonName: altNames[0] ?? 'hdm', altNames, usage: 'server' });
  atomicWrite(keyFile, cert.keyPem);
  atomicWrite(certFile, cert.certPem);
  return { ...cert, issued: true };
}
