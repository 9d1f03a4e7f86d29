/** The CLI's API client trusts the plugin server only through the pin (or the HDM CA file). */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiClient, CliError } from '../../src/cli/api-client';
import { getJson, RunningServer, startPluginServer } from '../support/plugin-server';

describe('hdm API client', () => {
  let server: RunningServer;
  let thumbprint: string;

  before(async () => {
    server = await startPluginServer({});
    thumbprint = (await getJson<{ serverThumbprint: string }>(`${server.url}/api/v1/health`)).body.serverThumbprint;
  });
  after(async () => server?.stop());

  test('the right pin reaches the server (here: 401 for a token vCenter never issued)', async () => {
    const api = new ApiClient({ server: server.url, thumbprint, token: 'not-a-real-session-token' });
    const res = await api.send<{ message: string }>('GET', '/api/v1/jobs');
    assert.equal(res.status, 401);
  });

  test('a wrong pin is refused before any request byte is sent', async () => {
    const wrong = thumbprint.replace(/^../, thumbprint.startsWith('00') ? '11' : '00');
    const api = new ApiClient({ server: server.url, thumbprint: wrong, token: 'not-a-real-session-token' });
    await assert.rejects(api.send('GET', '/api/v1/jobs'), (e: unknown) => e instanceof CliError && /does not match HDM_SERVER_THUMBPRINT/.test(e.message));
  });

  test('without a pin or a CA file it refuses to start', () => {
    assert.throws(() => new ApiClient({ server: server.url }), (e: unknown) => e instanceof CliError && e.exitCode === 2);
    assert.throws(() => new ApiClient({ server: server.url, caFile: '/nonexistent/ca.pem' }), (e: unknown) => e instanceof CliError && /HDM_CA_FILE/.test(e.message));
  });
});
