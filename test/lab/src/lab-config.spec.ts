import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultLabConfig, labAddresses } from './lab-config';

test('each lab slot owns its own /22 of 10.99.0.0/16', () => {
  const a0 = labAddresses({ ...defaultLabConfig({}), slot: 0 });
  const a1 = labAddresses({ ...defaultLabConfig({}), name: 'hdmt', slot: 1 });
  assert.equal(a0.range, '10.99.0.0/22');
  assert.equal(a1.range, '10.99.4.0/22');
  assert.equal(a1.premIp, '10.99.4.2');
  assert.equal(a1.cloudIp, '10.99.5.2');
  assert.equal(a1.premNs, 'hdmt-prem');
  for (const dev of [a1.rootLink, a1.rootPeer, a1.wanPrem, a1.wanCloud]) assert.ok(dev.length <= 15, dev);
});

test('bad lab names, slots and numbers are refused with the variable named', () => {
  assert.throws(() => labAddresses({ ...defaultLabConfig({}), name: 'Bad-Name' }), /lab name/);
  assert.throws(() => labAddresses({ ...defaultLabConfig({}), slot: 64 }), /slot/);
  assert.throws(() => defaultLabConfig({ HDM_LAB_WAN_MBIT: 'fast' }), /HDM_LAB_WAN_MBIT/);
  assert.equal(defaultLabConfig({ HDM_LAB_WAN_MBIT: '0' }).wanMbit, 0);
});
