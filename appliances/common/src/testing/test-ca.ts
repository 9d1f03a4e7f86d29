import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';

/** A certificate issued by a TestCa, with its files when written to a directory. */
export interface TestCert {
  certPem: string;
  keyPem: string;
  caPem: string;
  passphrase?: string;
  /** SHA-1 thumbprint, colon hex uppercase (vCenter's form). */
  sha1: string;
  files?: { cert: string; key: string; ca: string; passphrase?: string };
}

/**
 * A throwaway CA for tests (node-forge for the X.509 structures, node:crypto for fast RSA keys).
 * Mirrors what the plugin server's PKI issues: CN = role, O = HDM, SANs, EKU server/client.
 */
export class TestCa {
  readonly certPem: string;
  private readonly cert: forge.pki.Certificate;
  private readonly key: forge.pki.rsa.PrivateKey;

  constructor(name = `Test CA ${randomBytes(3).toString('hex')}`) {
    const { privateKey, publicKey } = keyPair();
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    const subject = [{ name: 'commonName', value: name }, { name: 'organizationName', value: 'HDM' }];
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    cert.sign(privateKey, forge.md.sha256.create());
    this.cert = cert;
    this.key = privateKey;
    this.certPem = forge.pki.certificateToPem(cert);
  }

  /** Issues a leaf for `commonName` (usable as server and client unless told). */
  issue(commonName: string, opts: { altNames?: string[]; passphrase?: string; usage?: 'server' | 'client' | 'both' } = {}): TestCert {
    const { privateKey, publicKey } = keyPair();
    const cert = forge.pki.createCertificate();
    cert.publicKey = publicKey;
    cert.serialNumber = serial();
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject([{ name: 'commonName', value: commonName }, { name: 'organizationName', value: 'HDM' }]);
    cert.setIssuer(this.cert.subject.attributes);
    const usage = opts.usage ?? 'both';
    const altNames = opts.altNames ?? ['localhost', '127.0.0.1'];
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: usage !== 'client', clientAuth: usage !== 'server' },
      { name: 'subjectAltName', altNames: altNames.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ]);
    cert.sign(this.key, forge.md.sha256.create());
    const certPem = forge.pki.certificateToPem(cert);
    const keyPem = opts.passphrase
      ? forge.pki.encryptRsaPrivateKey(privateKey, opts.passphrase, { algorithm: 'aes256' })
      : forge.pki.privateKeyToPem(privateKey);
    const sha1 = new X509Certificate(certPem).fingerprint.toUpperCase();
    return { certPem, keyPem, caPem: this.certPem, passphrase: opts.passphrase, sha1 };
  }

  /** Issues and writes `<dir>/<base>.crt.pem`, `.key.pem`, `ca.crt.pem` (+ `.pass`). */
  issueToDir(dir: string, base: string, commonName: string, opts: { altNames?: string[]; passphrase?: string } = {}): TestCert {
    mkdirSync(dir, { recursive: true });
    const c = this.issue(commonName, opts);
    const files = { cert: join(dir, `${base}.crt.pem`), key: join(dir, `${base}.key.pem`), ca: join(dir, `${base}.ca.pem`) } as NonNullable<TestCert['files']>;
    writeFileSync(files.cert, c.certPem);
    writeFileSync(files.key, c.keyPem, { mode: 0o600 });
    writeFileSync(files.ca, this.certPem);
    if (opts.passphrase) {
      files.passphrase = join(dir, `${base}.pass`);
      writeFileSync(files.passphrase, `${opts.passphrase}\n`, { mode: 0o600 });
    }
    return { ...c, files };
  }
}

function keyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: forge.pki.privateKeyFromPem(pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
    publicKey: forge.pki.publicKeyFromPem(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()),
  };
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}
