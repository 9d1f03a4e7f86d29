import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretBox } from './secret-box';

test('sealed secrets open with the same master key only, and tampering is detected', () => {
  const box = new SecretBox('master-key-for-tests-0123456789');
  const sealed = box.seal('p@ss wörd');
  assert.doesNotMatch(sealed, /p@ss/);
  assert.equal(box.open(sealed), 'p@ss wörd');
  assert.notEqual(box.seal('x'), box.seal('x'), 'random IV');
  assert.throws(() => new SecretBox('another-master-key-000000000').open(sealed));
  const parts = sealed.split(':');
  parts[3] = Buffer.from('tampered').toString('base64url');
  assert.throws(() => box.open(parts.join(':')));
  assert.throws(() => box.open('garbage'), /not a sealed secret/);
});
