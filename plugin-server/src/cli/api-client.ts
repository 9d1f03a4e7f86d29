import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { PinnedAgent } from '../vsphere/soap/transport';
import { VimClient } from '../vsphere';

/** Exit codes of the `hdm` CLI. */
export const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3, unreachable: 4 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface CliSettings {
  server: string;
  thumbprint?: string;
  caFile?: string;
  token?: string;
  username?: string;
  password?: string;
}

function readCa(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read HDM_CA_FILE ${file}: ${(err as Error).message}`, EXIT.usage);
  }
}

/** The HDM REST API as the CLI sees it: pinned TLS, a vSphere session token on every call. */
export class ApiClient {
  private token?: string;
  private readonly agent: Agent;

  constructor(private readonly s: CliSettings) {
    if (!s.thumbprint && !s.caFile) {
      throw new CliError(
        `no way to trust ${s.server}: set HDM_SERVER_THUMBPRINT (SHA-1 of the plugin server certificate) or HDM_CA_FILE (the HDM CA certificate)`,
        EXIT.usage,
      );
    }
    this.token = s.token;
    // A pin replaces CA checks and is checked before any byte (the token!) is sent; see PinnedAgent.
    this.agent = s.thumbprint
      ? new PinnedAgent(s.thumbprint, s.server, (expected, actual) => new Error(`server certificate ${actual} does not match HDM_SERVER_THUMBPRINT ${expected}`))
      : new Agent({ ca: readCa(s.caFile!), keepAlive: true });
  }

  private raw<T>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }> {
    const url = new URL(path, this.s.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
            ...(token ? { 'vmware-api-session-id': token } : {}),
          },
          agent: this.agent,
          timeout: 30_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              /* not JSON */
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
      req.on('error', (err) => reject(new CliError(`cannot reach the HDM server at ${this.s.server}: ${err.message}`, EXIT.unreachable)));
      req.end(payload);
    });
  }

  /** A session token: given, or from logging in to the prem vCenter the server names. */
  private async session(): Promise<string> {
    if (this.token) return this.token;
    if (!this.s.username || !this.s.password) {
      throw new CliError('no vSphere session: set HDM_SESSION_TOKEN, or HDM_VC_USERNAME and HDM_VC_PASSWORD to log in to the prem vCenter', EXIT.usage);
    }
    const health = await this.raw<{ vcenter?: { url: string; thumbprint?: string } }>('GET', '/api/v1/health');
    const vc = health.body?.vcenter;
    if (!vc) throw new CliError('the HDM server is not connected to a vCenter', EXIT.refused);
    try {
      const client = await VimClient.connect({ url: vc.url, username: this.s.username, password: this.s.password, thumbprint: vc.thumbprint });
      this.token = client.sessionCookie;
      client.close();
    } catch (err) {
      throw new CliError(`login to ${vc.url} as "${this.s.username}" failed: ${(err as Error).message}`, EXIT.refused);
    }
    if (!this.token) throw new CliError(`${vc.url} returned no session`, EXIT.refused);
    return this.token;
  }

  /** One call with the session; the answer whatever its status (callers that branch on it). */
  async send<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    return this.raw<T>(method, path, body, await this.session());
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send<T>(method, path, body);
    if (res.status >= 200 && res.status < 300) return res.body;
    const msg = (res.body as { message?: string } | undefined)?.message ?? JSON.stringify(res.body);
    throw new CliError(`HDM server: ${res.status}: ${msg}`, res.status >= 500 ? EXIT.failed : EXIT.refused);
  }
}
