import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The secret that encrypts private keys at rest. Taken from HDM_MASTER_KEY when set
 * (production: injected from the appliance's secret store), otherwise generated once
 * into a 0600 file kept apart from the keys it protects.
 */
export function loadOrCreateMasterKey(file: string, fromEnv = process.env.HDM_MASTER_KEY): string {
  if (fromEnv && fromEnv.length > 0) {
    if (fromEnv.length < 16) throw new Error('HDM_MASTER_KEY must be at least 16 characters');
    return fromEnv;
  }
  if (existsSync(file)) {
    const key = readFileSync(file, 'utf8').trim();
    if (key.length < 16) throw new Error(`master key file ${file} is truncated; restore it from backup`);
    return key;
  }
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}
