/**
 * Every API route the UI and CLI use needs a session that the prem vCenter confirms
 * is live: missing, forged and logged-out tokens get 401 on all of them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { VimClient } from '../../src/vsphere';
import { startVcsim, VcsimSite } from '../support/vcsim';
import { getJson, RunningServer, startPluginServer } from '../support/plugin-server';

const PUBLIC = new Set(['GET /api/v1/health', 'GET /ui/plugin.json']);

function call(url: string, method: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
    const req = request(url, {
      method,
      rejectUnauthorized: false,
      headers: { ...(token ? { 'vmware-api-session-id': token } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('session guard', () => {
  let vc: VcsimSite;
  let server: RunningServer;
  let routes: Array<{ method: string; path: string }>;

  before(async () => {
    vc = await startVcsim({ site: 'prem' });
    server = await startPluginServer({ HDM_VC_URL: vc.url, HDM_VC_USERNAME: vc.username, HDM_VC_PASSWORD: vc.password, HDM_VC_THUMBPRINT: vc.thumbprint });
    const spec = (await getJson<{ paths: Record<string, Record<string, unknown>> }>(`${server.url}/api/v1/openapi.json`)).body;
    routes = Object.entries(spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => ({ method: m.toUpperCase(), path })));
  });
  after(async () => {
    await server?.stop();
    await vc?.stop();
  });

  test('the OpenAPI document lists the UI routes', () => {
    for (const r of ['GET /api/v1/jobs', 'POST /api/v1/migrations', 'GET /api/v1/clouds', 'GET /api/v1/vms/{moid}', 'POST /api/v1/jobs/{id}/cancel']) {
      assert.ok(routes.some((x) => `${x.method} ${x.path}` === r), `${r} documented`);
    }
  });

  test('missing, malformed, forged and logged-out tokens are refused with 401 on every non-public route', async () => {
    const client = await VimClient.connect({ url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint });
    const dead = client.sessionCookie!;
    await client.logout();
    const tokens: Array<[string, string | undefined]> = [
      ['missing', undefined],
      ['malformed', 'a b;c'],
      ['forged', '00000000-1111-2222-3333-444444444444'],
      ['logged out', dead],
    ];
    let checked = 0;
    for (const r of routes) {
      if (PUBLIC.has(`${r.method} ${r.path}`)) continue;
      const path = r.path.replace(/\{[^}]+\}/g, 'x1');
      for (const [what, token] of tokens) {
        const res = await call(`${server.url}${path}`, r.method, token);
        assert.equal(res.status, 401, `${what} token on ${r.method} ${r.path}: ${res.status} ${res.body}`);
        assert.match(JSON.parse(res.body).message as string, /session/i);
        checked++;
      }
    }
    assert.ok(checked >= 40, `checked ${checked} route×token pairs`);
  });

  test('a live session is accepted', async () => {
    const client = await VimClient.connect({ url: vc.url, username: vc.username, password: vc.password, thumbprint: vc.thumbprint });
    try {
      const res = await call(`${server.url}/api/v1/jobs`, 'GET', client.sessionCookie);
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), []);
    } finally {
      await client.logout();
    }
  });
});
