import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildExtension, reconcileExtension } from './extension-descriptor';

const inputs = {
  extensionKey: 'com.hdm.plugin',
  version: '0.1.0',
  manifestUrl: 'https://127.0.0.1:8443/ui/plugin.json',
  serverThumbprint: 'AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD',
};

test('the remote-plugin registration names a manifest server with the thumbprint and a remote client', () => {
  const ext = buildExtension(inputs);
  assert.equal(ext.server?.[0]?.type, 'MANIFEST_SERVER');
  assert.equal(ext.server?.[0]?.serverThumbprint, inputs.serverThumbprint);
  assert.equal(ext.client?.[0]?.type, 'vsphere-client-remote');
  assert.equal(ext.client?.[0]?.url, inputs.manifestUrl);
  assert.ok((ext.taskList ?? []).length > 0);
  assert.ok((ext.eventList ?? []).length > 0);
  for (const t of ext.taskList!) assert.match(t.taskID, /^com\.hdm\.plugin\./);
  const taskResources = (ext.resourceList!.find((r) => r.module === 'task')!.data ?? []).map((d) => d.key);
  for (const t of ext.taskList!) assert.ok(taskResources.includes(`${t.taskID}.label`), `label for ${t.taskID}`);
});

test('reconcile: register when absent, nothing when equal, update when the thumbprint changes', () => {
  const ext = buildExtension(inputs);
  assert.equal(reconcileExtension(undefined, ext), 'register');
  assert.equal(reconcileExtension(structuredClone(ext), ext), 'none');
  const rotated = buildExtension({ ...inputs, serverThumbprint: '11:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD' });
  assert.equal(reconcileExtension(ext, rotated), 'update');
  const moved = buildExtension({ ...inputs, manifestUrl: 'https://hdm.example:443/ui/plugin.json' });
  assert.equal(reconcileExtension(ext, moved), 'update');
});

test('reconcile: a missing task type on the vCenter side leads to an update', () => {
  const ext = buildExtension(inputs);
  const current = structuredClone(ext);
  current.taskList = current.taskList!.slice(1);
  assert.equal(reconcileExtension(current, ext), 'update');
});
