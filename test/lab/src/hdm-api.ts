import { request } from 'node:https';
import { VimClient } from '@hdm/plugin-server/dist/src/vsphere';
import { VcenterInfo } from './vcenter-process';

/**
 * The lab acting as an administrator through HDM's public REST API (never the
 * database): it logs in to the prem vCenter for a session token, as the
 * vSphere Client would, and pins the plugin server's certificate.
 */
export class HdmApi {
  private token?: string;

  constructor(
    private readonly baseUrl: string,
    private readonly serverThumbprint: string,
    private readonly prem: VcenterInfo,
  ) {}

  private async session(): Promise<string> {
    if (this.token) return this.token;
    const client = await VimClient.connect({ url: this.prem.url, username: this.prem.username, password: this.prem.password, thumbprint: this.prem.thumbprint });
    this.token = client.sessionCookie!;
    client.close();
    return this.token;
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const token = await this.session();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.baseUrl),
        {
          method,
          rejectUnauthorized: false,
          checkServerIdentity: (_h, cert) =>
            cert.fingerprint.toUpperCase() === this.serverThumbprint.toUpperCase() ? undefined : new Error(`plugin server presented ${cert.fingerprint}, expected ${this.serverThumbprint}`),
          headers: { 'vmware-api-session-id': token, ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
            } catch (e) {
              reject(e);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Adds the lab's cloud under `name`, or re-accepts its certificate if the lab CA changed it. */
  async ensureCloud(name: string, cloud: VcenterInfo): Promise<void> {
    const existing = await this.call<{ thumbprint: string; message?: string }>('GET', `/api/v1/clouds/${name}`);
    if (existing.status === 200) {
      if (existing.body.thumbprint !== cloud.thumbprint) {
        const r = await this.call<{ message?: string }>('POST', `/api/v1/clouds/${name}/accept-thumbprint`, { thumbprint: cloud.thumbprint });
        if (r.status !== 200) throw new Error(`could not accept the cloud certificate: ${r.body?.message}`);
      }
      return;
    }
    const r = await this.call<{ message?: string }>('POST', '/api/v1/clouds', {
      name,
      url: cloud.url,
      username: cloud.username,
      password: cloud.password,
      thumbprint: cloud.thumbprint,
    });
    if (r.status !== 201) throw new Error(`adding cloud "${name}" failed: ${r.status} ${r.body?.message ?? ''}`);
  }
}
