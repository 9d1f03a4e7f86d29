import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tls from 'node:tls';
import { memoryLogger } from '../log/logger';
import { TestCa } from '../testing/test-ca';
import { connectMtls, createMtlsServer, loadIdentity, roleMatches } from './mtls';

describe('mtls', () => {
  const ca = new TestCa();
  const foreign = new TestCa('Foreign CA');
  const cloud = ca.issue('cloud-manager', { passphrase: 'server secret' });
  const prem = ca.issue('prem-manager');
  const mallory = foreign.issue('prem-manager');
  const stranger = ca.issue('io-analyzer');
  const { log, lines } = memoryLogger();
  let server: tls.Server;
  let port: number;
  const accepted: string[] = [];

  before(async () => {
    server = createMtlsServer(
      { cert: cloud.certPem, key: cloud.keyPem, passphrase: cloud.passphrase, ca: ca.certPem, allowedRoles: ['prem-manager'], log, name: 'data' },
      (socket, role) => {
        accepted.push(role);
        socket.end('welcome');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const read = (s: tls.TLSSocket): Promise<string> =>
    new Promise((resolve) => {
      let text = '';
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('error', () => resolve(text));
      s.on('close', () => resolve(text));
    });

  it('accepts a peer of the allowed role from our CA', async () => {
    const s = await connectMtls({ host: '127.0.0.1', port, cert: prem.certPem, key: prem.keyPem, ca: ca.certPem, expectedRole: 'cloud-manager' });
    assert.equal(await read(s), 'welcome');
    assert.deepEqual(accepted, ['prem-manager']);
  });

  it('refuses a client certificate from a foreign CA, logging the reason', async () => {
    const before = lines.length;
    const s = await connectMtls({ host: '127.0.0.1', port, cert: mallory.certPem, key: mallory.keyPem, ca: ca.certPem, expectedRole: 'cloud-manager' }).catch(
      (e: Error) => e,
    );
    if (!(s instanceof Error)) assert.equal(await read(s), '', 'no application data for a foreign peer');
    await new Promise((r) => setTimeout(r, 50));
    const refusal = lines.slice(before).find((l) => l.msg === 'refused TLS client: certificate not issued by our CA');
    assert.ok(refusal, 'refusal logged');
    assert.match(String(refusal.reason), /UNABLE_TO_VERIFY|CERT|ISSUER/);
    assert.equal(refusal.peer, 'prem-manager');
    assert.deepEqual(accepted, ['prem-manager']);
  });

  it('refuses a client of another role from our CA', async () => {
    const before = lines.length;
    const s = await connectMtls({ host: '127.0.0.1', port, cert: stranger.certPem, key: stranger.keyPem, ca: ca.certPem, expectedRole: 'cloud-manager' });
    assert.equal(await read(s), '');
    assert.ok(lines.slice(before).some((l) => l.msg === 'refused TLS client: wrong role' && l.peer === 'io-analyzer'));
  });

  it('refuses a client without a certificate', async () => {
    const before = lines.length;
    const s = await connectMtls({ host: '127.0.0.1', port, cert: '', key: '', ca: ca.certPem, expectedRole: 'cloud-manager' }).catch((e: Error) => e);
    if (!(s instanceof Error)) assert.equal(await read(s), '');
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(lines.slice(before).some((l) => l.msg === 'refused TLS client: certificate not issued by our CA'));
  });

  it('client refuses a server that does not carry the expected role', async () => {
    await assert.rejects(
      connectMtls({ host: '127.0.0.1', port, cert: prem.certPem, key: prem.keyPem, ca: ca.certPem, expectedRole: 'esxi-manager' }),
      /does not carry the expected role "esxi-manager"/,
    );
  });

  it('client refuses a server from a foreign CA', async () => {
    await assert.rejects(
      connectMtls({ host: '127.0.0.1', port, cert: prem.certPem, key: prem.keyPem, ca: foreign.certPem, expectedRole: 'cloud-manager' }),
      /certificate/,
    );
  });

  it('loads PEM files with an encrypted key and a passphrase file; a wrong passphrase is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hdm-mtls-'));
    try {
      const c = ca.issueToDir(dir, 'svc', 'cloud-manager', { passphrase: 'pw' });
      const id = loadIdentity({ certFile: c.files!.cert, keyFile: c.files!.key, caFile: c.files!.ca, passphraseFile: c.files!.passphrase });
      assert.equal(id.passphrase, 'pw');
      assert.throws(() => loadIdentity({ certFile: c.files!.cert, keyFile: c.files!.key, caFile: c.files!.ca }), /bad decrypt|passphrase|decrypt/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('roles match by CN or CN prefix with a dot', () => {
    assert.ok(roleMatches('cloud-manager', 'cloud-manager'));
    assert.ok(roleMatches('cloud-manager.site-b', 'cloud-manager'));
    assert.ok(!roleMatches('cloud-manager-evil', 'cloud-manager'));
    assert.ok(!roleMatches(undefined, 'cloud-manager'));
  });
});
