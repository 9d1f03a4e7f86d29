import { ApiClient } from '@hdm/plugin-server/dist/src/cli/api-client';
import { VcenterInfo } from './vcenter-process';

/**
 * The lab acting as an administrator through HDM's public REST API (never the
 * database), with the same client as the `hdm` CLI: the plugin server's certificate
 * pinned, a session token from logging in to the prem vCenter.
 */
export class HdmApi {
  private readonly client: ApiClient;

  constructor(baseUrl: string, serverThumbprint: string, prem: VcenterInfo) {
    this.client = new ApiClient({ server: baseUrl, thumbprint: serverThumbprint, username: prem.username, password: prem.password });
  }

  call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    return this.client.send<T>(method, path, body);
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
