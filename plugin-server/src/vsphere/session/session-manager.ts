import { SessionManagerGenericServiceTicket, SessionManagerHttpServiceRequestSpec, UserSession } from '../generated';
import { VimClient, VimConnectOptions } from '../soap/vim-client';
import { VimFault } from '../soap/vim-fault';

function sessionManager(client: VimClient) {
  const sm = client.serviceContent.sessionManager;
  if (!sm) throw new Error(`${client.url} has no SessionManager`);
  return sm;
}

/** Login with user name and password; the session cookie is kept by the client. */
export async function login(client: VimClient, userName: string, password: string, locale?: string): Promise<UserSession> {
  client.userSession = await client.invoke('Login', { _this: sessionManager(client), userName, password, locale });
  return client.userSession;
}

/** Ends the session (ignores NotAuthenticated: it is already gone). */
export async function logout(client: VimClient): Promise<void> {
  try {
    await client.invoke('Logout', { _this: sessionManager(client) });
  } catch (e) {
    if (!VimFault.is(e, 'NotAuthenticated')) throw e;
  }
  client.userSession = undefined;
}

/** SessionManager.currentSession: the logged-in session, or undefined when not authenticated. */
export async function currentSession(client: VimClient): Promise<UserSession | undefined> {
  const sm = sessionManager(client);
  const res = await client.invoke('RetrievePropertiesEx', {
    _this: client.serviceContent.propertyCollector,
    specSet: [{ propSet: [{ type: 'SessionManager', pathSet: ['currentSession'] }], objectSet: [{ obj: sm }] }],
    options: {},
  });
  const prop = res?.objects?.[0]?.propSet?.find((p) => p.name === 'currentSession');
  return prop?.val as UserSession | undefined;
}

/** SessionIsActive: whether `sessionID` of `userName` is still logged in (needs Sessions.ValidateSession). */
export async function sessionIsActive(client: VimClient, sessionID: string, userName: string): Promise<boolean> {
  return client.invoke('SessionIsActive', { _this: sessionManager(client), sessionID, userName });
}

/** AcquireCloneTicket: a single-use ticket another client can turn into this session with cloneSession(). */
export async function acquireCloneTicket(client: VimClient): Promise<string> {
  return client.invoke('AcquireCloneTicket', { _this: sessionManager(client) });
}

/** CloneSession on a fresh (not logged-in) client: the client becomes a clone of the ticket's session. */
export async function cloneSession(client: VimClient, cloneTicket: string): Promise<UserSession> {
  client.userSession = await client.invoke('CloneSession', { _this: sessionManager(client), cloneTicket });
  return client.userSession;
}

/**
 * Connects without credentials and clones the session behind `cloneTicket` (how the plugin server
 * turns a vSphere Client session into its own).
 */
export async function connectWithCloneTicket(opts: Omit<VimConnectOptions, 'username' | 'password'>, cloneTicket: string): Promise<VimClient> {
  const client = await VimClient.connect(opts);
  try {
    await cloneSession(client, cloneTicket);
  } catch (e) {
    client.close();
    throw e;
  }
  return client;
}

/**
 * AcquireGenericServiceTicket for one HTTP request (`method` on `url`, e.g. a datastore /folder URL):
 * the ticket goes in a `vmware_cgi_ticket` cookie instead of the session cookie, so a process that
 * must not hold the session (an appliance) can do that one request.
 */
export async function acquireGenericServiceTicket(client: VimClient, url: string,
  method: 'httpGet' | 'httpPut' | 'httpPost' | 'httpDelete' | 'httpHead' = 'httpGet'): Promise<SessionManagerGenericServiceTicket> {
  const spec: SessionManagerHttpServiceRequestSpec = { _type: 'SessionManagerHttpServiceRequestSpec', method, url };
  return client.invoke('AcquireGenericServiceTicket', { _this: sessionManager(client), spec });
}
