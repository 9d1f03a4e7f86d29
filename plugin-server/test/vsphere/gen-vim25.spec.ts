import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { methodInfo, typeInfo } from '../../src/vsphere/soap/schema';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'scripts', 'gen-vim25.js');

function generate(): Record<string, string> {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'gen-vim25-'));
  try {
    execFileSync(process.execPath, [SCRIPT], { env: { ...process.env, GEN_VIM25_OUT: out }, stdio: 'pipe' });
    return Object.fromEntries(fs.readdirSync(out).sort().map((f) => [f, fs.readFileSync(path.join(out, f), 'utf8')]));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

describe('gen-vim25', () => {
  it('is deterministic: two runs give byte-identical output', () => {
    const a = generate();
    const b = generate();
    assert.deepEqual(Object.keys(a), ['index.ts', 'schema.ts', 'types.ts']);
    assert.deepEqual(a, b);
  });

  it('schema lists inherited fields first (EventEx after Event, TraversalSpec after SelectionSpec)', () => {
    const names = (t: string): string[] => typeInfo(t)!.fields.map((f) => f.name);
    assert.deepEqual(names('TraversalSpec'), ['name', 'type', 'path', 'skip', 'selectSet']);
    assert.deepEqual(names('EventEx').slice(0, 4), ['key', 'chainId', 'createdTime', 'userName']);
    assert.equal(typeInfo('EventEx')!.base, 'Event');
    const sel = typeInfo('ObjectSpec')!.fieldsByName.get('selectSet')!;
    assert.deepEqual(sel, { name: 'selectSet', type: 'SelectionSpec', array: true, optional: true, poly: true, minOne: false });
    assert.equal(typeInfo('PropertyFilterSpec')!.fieldsByName.get('propSet')!.minOne, true, 'a slice without omitempty is minOccurs 1');
    assert.deepEqual(typeInfo('Extension')!.fieldsByName.get('lastHeartbeatTime'),
      { name: 'lastHeartbeatTime', type: 'xsd:dateTime', array: false, optional: false, poly: false, minOne: false });
  });

  it('method table maps methods to request types and returnvals', () => {
    assert.deepEqual(methodInfo('PowerOnVM_Task'), {
      name: 'PowerOnVM_Task', requestType: 'PowerOnVMRequestType',
      returns: { type: 'ManagedObjectReference', array: false, optional: false }, namespace: 'urn:vim25',
    });
    assert.deepEqual(methodInfo('QueryEvents')!.returns, { type: 'Event', array: true, optional: true });
    assert.equal(methodInfo('Logout')!.returns, null);
    assert.equal(methodInfo('DisableMethods')!.namespace, 'urn:internalvim25');
  });
});
