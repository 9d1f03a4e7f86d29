import { request } from 'node:https';
import { mtlsClientOptions } from '@hdm/appliance-common';
import { ApplianceRole } from './appliance-identity';

export class ManagerError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export interface ManagerEndpoint {
  role: Exclude<ApplianceRole, 'plugin-server'>;
  host: string;
  port: number;
}

/** JSON over mutual TLS to an appliance service's control API (prem-manager, cloud-manager). */
export class ManagerClient {
  constructor(
    readonly endpoint: ManagerEndpoint,
    private readonly identity: { cert: string; key: string; ca: string; passphrase: string },
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.call<T>('DELETE', path);
  }

  private call<T>(method: string, path: string, body?: unknown, timeoutMs = 15_000): Promise<T> {
    const { host, port, role } = this.endpoint;
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          ...mtlsClientOptions({ ...this.identity, host, expectedRole: role }),
          port,
          method,
          path,
          agent: false,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = undefined;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = text;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(parsed as T);
            else {
              const msg = (parsed as { error?: string; message?: string })?.error ?? (parsed as { message?: string })?.message ?? text;
              reject(new ManagerError(`${role} ${method} ${path}: HTTP ${status}: ${msg}`, status, parsed));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${role} at ${host}:${port} did not answer within ${timeoutMs} ms`)));
      req.on('error', (err) => reject(err instanceof ManagerError ? err : new ManagerError(`${role} at ${host}:${port}: ${err.message}`)));
      req.end(payload);
    });
  }
}
