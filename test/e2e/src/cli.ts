import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { LabJson } from '@hdm/lab/dist/lab';
import { REPO_ROOT } from './support';

export const HDM_CLI = join(REPO_ROOT, 'plugin-server/dist/src/cli/main.js');

/** Runs the `hdm` CLI against a lab, as an administrator would. */
export function hdm(json: LabJson, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HDM_CLI, ...args], {
      env: {
        ...process.env,
        HDM_SERVER_URL: json.plugin.url,
        HDM_SERVER_THUMBPRINT: json.plugin.thumbprint,
        HDM_VC_USERNAME: json.prem.username,
        HDM_VC_PASSWORD: json.prem.password,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}
