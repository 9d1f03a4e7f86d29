import { X509Certificate } from 'node:crypto';

/** Colon-separated uppercase hex, the form vCenter uses for serverThumbprint. */
function colonHex(hex: string): string {
  return hex.toUpperCase().match(/.{2}/g)!.join(':');
}

/** SHA-1 thumbprint of a PEM certificate (vCenter's `serverThumbprint`). */
export function sha1Thumbprint(certPem: string): string {
  return colonHex(new X509Certificate(certPem).fingerprint.replace(/:/g, ''));
}

/** SHA-256 thumbprint of a PEM certificate (used where a stronger pin is accepted). */
export function sha256Thumbprint(certPem: string): string {
  return colonHex(new X509Certificate(certPem).fingerprint256.replace(/:/g, ''));
}
