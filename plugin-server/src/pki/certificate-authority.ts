import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import forge from 'node-forge';
import { sha1Thumbprint, sha256Thumbprint } from './thumbprint';

export interface IssuedCertificate {
  certPem: string;
  /** Private key, PKCS#8 encrypted with the master key (pass `passphrase` to TLS). */
  keyPem: string;
  passphrase: string;
  /** The issuing CA certificate, for chains and trust stores. */
  caPem: string;
  sha1: string;
  sha256: string;
  notAfter: Date;
}

export interface IssueOptions {
  commonName: string;
  /** DNS names and IP addresses for subjectAltName. */
  altNames: string[];
  usage: 'server' | 'client' | 'both';
  validDays?: number;
}

const CA_VALID_YEARS = 10;
/** Browsers refuse server certificates valid for more than 398 days. */
const LEAF_VALID_DAYS = 397;

/**
 * HDM's root CA. Created at first start under `dir` and kept; its key never
 * touches disk unencrypted. It issues the plugin server's HTTPS certificate and
 * every service's mTLS certificate.
 */
export class CertificateAuthority {
  private constructor(
    private readonly cert: forge.pki.Certificate,
    private readonly key: forge.pki.rsa.PrivateKey,
    readonly certPem: string,
    private readonly passphrase: string,
  ) {}

  /** Loads the CA from `dir`, or creates it when absent. */
  static loadOrCreate(dir: string, passphrase: string): CertificateAuthority {
    const certFile = join(dir, 'ca.crt.pem');
    const keyFile = join(dir, 'ca.key.pem');
    if (existsSync(certFile) && existsSync(keyFile)) {
      const certPem = readFileSync(certFile, 'utf8');
      const key = forge.pki.decryptRsaPrivateKey(readFileSync(keyFile, 'utf8'), passphrase);
      if (!key) throw new Error(`cannot decrypt ${keyFile}: the master key does not match this CA`);
      return new CertificateAuthority(forge.pki.certificateFromPem(certPem), key, certPem, passphrase);
    }
    if (existsSync(certFile) !== existsSync(keyFile)) {
      throw new Error(`incomplete CA in ${dir}: one of ca.crt.pem / ca.key.pem is missing; restore both or remove both`);
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { publicKey, privateKey } = newKeyPair();
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + CA_VALID_YEARS * 365 * 86_400_000);
    const subject = [
      { name: 'commonName', value: `HDM Root CA ${randomBytes(4).toString('hex')}` },
      { name: 'organizationName', value: 'HDM' },
    ];
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    cert.sign(privateKey, forge.md.sha256.create());
    const certPem = forge.pki.certificateToPem(cert);
    // Key first, certificate last: a crash in between leaves "incomplete", never a cert without key.
    atomicWrite(keyFile, encryptKey(privateKey, passphrase));
    atomicWrite(certFile, certPem);
    return new CertificateAuthority(cert, privateKey, certPem, passphrase);
  }

  /** The passphrase of every key this CA writes (the master key). */
  get keyPassphrase(): string {
    return this.passphrase;
  }

  get subject(): string {
    return this.cert.subject.getField('CN')?.value as string;
  }

  issue(opts: IssueOptions): IssuedCertificate {
    if (!opts.commonName) throw new Error('commonName is required');
    const { publicKey, privateKey } = newKeyPair();
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + (opts.validDays ?? LEAF_VALID_DAYS) * 86_400_000);
    cert.setSubject([
      { name: 'commonName', value: opts.commonName },
      { name: 'organizationName', value: 'HDM' },
    ]);
    cert.setIssuer(this.cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      {
        name: 'extKeyUsage',
        serverAuth: opts.usage !== 'client',
        clientAuth: opts.usage !== 'server',
      },
      {
        name: 'subjectAltName',
        altNames: opts.altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })),
      },
      { name: 'subjectKeyIdentifier' },
      { name: 'authorityKeyIdentifier', keyIdentifier: this.cert.generateSubjectKeyIdentifier().getBytes() },
    ]);
    cert.sign(this.key, forge.md.sha256.create());
    const certPem = forge.pki.certificateToPem(cert);
    return {
      certPem,
      keyPem: encryptKey(privateKey, this.passphrase),
      passphrase: this.passphrase,
      caPem: this.certPem,
      sha1: sha1Thumbprint(certPem),
      sha256: sha256Thumbprint(certPem),
      notAfter: cert.validity.notAfter,
    };
  }
}

function newKeyPair(): { publicKey: forge.pki.rsa.PublicKey; privateKey: forge.pki.rsa.PrivateKey } {
  // Native key generation: node-forge's pure-JS RSA takes seconds per key.
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKey = forge.pki.privateKeyFromPem(pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString());
  const publicKey = forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  return { publicKey, privateKey };
}

function encryptKey(key: forge.pki.rsa.PrivateKey, passphrase: string): string {
  return forge.pki.encryptRsaPrivateKey(key, passphrase, { algorithm: 'aes256' });
}

function serial(): string {
  // Positive 128-bit serial (high bit cleared).
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

export function atomicWrite(file: string, content: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, content, { mode: 0o600 });
  renameSync(tmp, file);
}
