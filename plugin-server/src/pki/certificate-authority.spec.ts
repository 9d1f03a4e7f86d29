import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { CertificateAuthority } from './certificate-authority';
import { loadOrIssueServerCertificate } from './server-certificate';
import { loadOrCreateMasterKey } from './master-key';

const tmp = () => mkdtempSync(join(tmpdir(), 'hdm-pki-'));

test('the CA is created once, kept, and its key is encrypted at rest', () => {
  const dir = tmp();
  try {
    const ca1 = CertificateAuthority.loadOrCreate(dir, 'correct horse battery staple');
    const ca2 = CertificateAuthority.loadOrCreate(dir, 'correct horse battery staple');
    assert.equal(ca1.certPem, ca2.certPem);
    const keyPem = readFileSync(join(dir, 'ca.key.pem'), 'utf8');
    assert.match(keyPem, /BEGIN ENCRYPTED PRIVATE KEY/);
    assert.equal(statSync(join(dir, 'ca.key.pem')).mode & 0o077, 0);
    assert.throws(() => createPrivateKey({ key: keyPem, format: 'pem' }));
    assert.ok(createPrivateKey({ key: keyPem, format: 'pem', passphrase: 'correct horse battery staple' }));
    assert.throws(() => CertificateAuthority.loadOrCreate(dir, 'wrong passphrase!!'), /master key does not match/);
    const x = new X509Certificate(ca1.certPem);
    assert.equal(x.ca, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('issued server certificates chain to the CA, carry the SANs and are kept until rotated', () => {
  const dir = tmp();
  try {
    const ca = CertificateAuthority.loadOrCreate(dir, 'another long passphrase');
    const first = loadOrIssueServerCertificate(ca, dir, ['127.0.0.1', 'localhost']);
    assert.equal(first.issued, true);
    const x = new X509Certificate(first.certPem);
    assert.ok(x.verify(new X509Certificate(ca.certPem).publicKey));
    assert.match(x.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.match(x.subjectAltName ?? '', /DNS:localhost/);
    assert.match(first.sha1, /^([0-9A-F]{2}:){19}[0-9A-F]{2}$/);
    const again = loadOrIssueServerCertificate(ca, dir, ['127.0.0.1', 'localhost']);
    assert.equal(again.issued, false);
    assert.equal(again.sha1, first.sha1);
    const rotated = loadOrIssueServerCertificate(ca, dir, ['127.0.0.1', 'localhost'], true);
    assert.equal(rotated.issued, true);
    assert.notEqual(rotated.sha1, first.sha1);
    const renamed = loadOrIssueServerCertificate(ca, dir, ['127.0.0.1', 'hdm.example.com']);
    assert.equal(renamed.issued, true, 'a new name needs a new certificate');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the master key is generated once with mode 0600, or taken from HDM_MASTER_KEY', () => {
  const dir = tmp();
  try {
    const file = join(dir, 'secrets', 'master.key');
    const k1 = loadOrCreateMasterKey(file, undefined);
    assert.equal(loadOrCreateMasterKey(file, undefined), k1);
    assert.equal(statSync(file).mode & 0o077, 0);
    assert.equal(loadOrCreateMasterKey(file, 'from-the-environment-123'), 'from-the-environment-123');
    assert.throws(() => loadOrCreateMasterKey(file, 'short'), /at least 16/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
