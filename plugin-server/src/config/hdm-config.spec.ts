import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './hdm-config';

test('defaults give an https public URL and certificate names for it', () => {
  const c = loadConfig({ HDM_PORT: '8443', HDM_LISTEN_HOST: '127.0.0.1' });
  assert.equal(c.publicUrl, 'https://127.0.0.1:8443');
  assert.ok(c.certificateNames.includes('127.0.0.1'));
  assert.equal(c.vcenter, undefined);
});

test('bad settings are refused naming the variable', () => {
  assert.throws(() => loadConfig({ HDM_PORT: '99999' }), /HDM_PORT/);
  assert.throws(() => loadConfig({ HDM_PUBLIC_URL: 'http://insecure' }), /HDM_PUBLIC_URL/);
  assert.throws(() => loadConfig({ HDM_VC_URL: 'https://vc/sdk' }), /HDM_VC_USERNAME/);
  assert.throws(() => loadConfig({ HDM_VC_URL: 'https://vc/sdk', HDM_VC_USERNAME: 'u', HDM_VC_PASSWORD: 'p', HDM_VC_THUMBPRINT: 'zz' }), /HDM_VC_THUMBPRINT/);
  assert.throws(() => loadConfig({ HDM_EXTENSION_KEY: 'bad key' }), /HDM_EXTENSION_KEY/);
});
