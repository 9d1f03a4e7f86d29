import { ManagedObjectReference, ServiceContent, UserSession, VimMethodName, VimMethods } from '../generated';
import { SoapTransport, TransportOptions, VimConnectionError } from './transport';
import { VimFault } from './vim-fault';
import { decodeFault, parseResponse, parseXml } from './xml-parser';
import { serializeRequest } from './xml-writer';
import { NS_SOAPENV } from './xml-writer';

export interface VimConnectOptions extends TransportOptions {
  username?: string;
  password?: string;
}

/**
 * Methods that only read, so repeating one after a re-login cannot change anything twice. Only
 * these are retried when a `reauthenticate` hook is set and the server answers NotAuthenticated
 * (an expired/evicted session). Everything else (tasks, CreateFilter, WaitForUpdatesEx, paging
 * tokens, leases, views — all bound to the old session or changing state) fails as is.
 */
export const RETRYABLE_READS: ReadonlySet<string> = new Set([
  'RetrieveServiceContent', 'RetrievePropertiesEx', 'RetrieveProperties', 'FindExtension', 'QueryEvents',
  'CreateImportSpec', 'ParseDescriptor', 'QueryChangedDiskAreas',
]);

/** SOAPAction version before RetrieveServiceContent tells us the server's about.apiVersion. */
export const DEFAULT_API_VERSION = '8.0.1.0';

export const SERVICE_INSTANCE: ManagedObjectReference = { type: 'ServiceInstance', value: 'ServiceInstance' };

/**
 * A vim25 SOAP client for one vCenter: the only place that sends SOAP envelopes.
 * Lifecycle: `connect()` (RetrieveServiceContent, Login when credentials are given) → `invoke()`
 * any number of times → `logout()` (ends the vCenter session) and/or `close()` (drops sockets).
 */
export class VimClient {
  /** Filled by RetrieveServiceContent during connect(). */
  serviceContent!: ServiceContent;
  /** The server's about.apiVersion, sent as `SOAPAction: urn:vim25/<apiVersion>`. */
  apiVersion = DEFAULT_API_VERSION;
  /** The session after Login (or CloneSession), undefined before/after. */
  userSession: UserSession | undefined;
  readonly url: string;
  /**
   * Set by owners that can log in again (VcenterPool): called once when a RETRYABLE_READS method
   * fails with NotAuthenticated, then the call is repeated one time. Concurrent callers share one re-login.
   */
  reauthenticate: (() => Promise<void>) | undefined;
  private relogin: Promise<void> | undefined;
  /** Incremented by every successful re-login: a call that started before one just repeats. */
  private generation = 0;

  constructor(readonly transport: SoapTransport) {
    this.url = transport.url.toString();
  }

  static async connect(opts: VimConnectOptions): Promise<VimClient> {
    const client = new VimClient(new SoapTransport(opts));
    try {
      client.serviceContent = await client.invoke('RetrieveServiceContent', { _this: SERVICE_INSTANCE });
      client.apiVersion = client.serviceContent.about.apiVersion || DEFAULT_API_VERSION;
      if (opts.username !== undefined) {
        client.userSession = await client.invoke('Login', {
          _this: client.serviceContent.sessionManager!,
          userName: opts.username,
          password: opts.password ?? '',
        });
      }
    } catch (e) {
      client.close();
      throw e;
    }
    return client;
  }

  /**
   * A client on an existing session (its `vmware_soap_session` cookie value); rejects with
   * VimFault NotAuthenticated when vCenter no longer knows the session.
   */
  static async resume(opts: Omit<VimConnectOptions, 'username' | 'password'>, cookie: string): Promise<VimClient> {
    const client = new VimClient(new SoapTransport(opts));
    client.transport.sessionCookie = cookie;
    try {
      client.serviceContent = await client.invoke('RetrieveServiceContent', { _this: SERVICE_INSTANCE });
      client.apiVersion = client.serviceContent.about.apiVersion || DEFAULT_API_VERSION;
      const current = await client.invokeAny('RetrievePropertiesEx', {
        _this: client.serviceContent.propertyCollector,
        specSet: [{ propSet: [{ type: 'SessionManager', pathSet: ['currentSession'] }], objectSet: [{ obj: client.serviceContent.sessionManager! }] }],
        options: {},
      }) as { objects?: Array<{ propSet?: Array<{ val?: UserSession }> }> } | undefined;
      const session = current?.objects?.[0]?.propSet?.[0]?.val;
      if (!session) throw new VimFault('NotAuthenticated', 'the session is not active', undefined);
      client.userSession = session;
      return client;
    } catch (e) {
      client.close();
      throw e;
    }
  }

  /** Calls a vim25 method with typed arguments; resolves with its returnval, rejects with VimFault. */
  invoke<M extends VimMethodName>(method: M, args: VimMethods[M]['args']): Promise<VimMethods[M]['returns']> {
    return this.invokeAny(method, args) as Promise<VimMethods[M]['returns']>;
  }

  /** Calls any vim25 method known to the generated schema (untyped escape hatch). */
  async invokeAny(method: string, args: object): Promise<unknown> {
    const generation = this.generation;
    try {
      return await this.send(method, args);
    } catch (e) {
      if (!RETRYABLE_READS.has(method) || !VimFault.is(e, 'NotAuthenticated') || !(await this.renewSession(generation))) throw e;
      return this.send(method, args);
    }
  }

  /** Counts successful re-logins: read it before a call, hand it to renewSession after a NotAuthenticated. */
  get sessionGeneration(): number {
    return this.generation;
  }

  /**
   * Logs in again through `reauthenticate` after a call that started at `generation` failed with
   * NotAuthenticated; concurrent callers share one re-login, and a caller whose call started
   * before another's re-login just repeats. False when there is no hook (nothing to repeat).
   * Also used by the PBM client (pbm/pbm-client.ts), whose calls ride on this session.
   */
  async renewSession(generation: number): Promise<boolean> {
    const reauthenticate = this.reauthenticate;
    if (!reauthenticate) return false;
    if (this.generation === generation) {
      this.relogin ??= reauthenticate().then(() => { this.generation++; }).finally(() => { this.relogin = undefined; });
      await this.relogin;
    }
    return true;
  }

  private async send(method: string, args: object): Promise<unknown> {
    const envelope = serializeRequest(method, args);
    const res = await this.transport.post(envelope, `urn:vim25/${this.apiVersion}`);
    if (res.status !== 200 && !res.body.includes(NS_SOAPENV)) {
      throw new VimConnectionError(`${method}: HTTP ${res.status} from ${this.url}: ${res.body.slice(0, 200)}`, this.url);
    }
    return parseResponse(method, res.body);
  }

  /** The `vmware_soap_session` cookie of this session (NFC, /folder and PBM's vcSessionCookie need it). */
  get sessionCookie(): string | undefined {
    return this.transport.sessionCookie;
  }

  /** Ends the vCenter session (ignores an already expired one) and closes the sockets. */
  async logout(): Promise<void> {
    try {
      if (this.serviceContent?.sessionManager) {
        await this.invoke('Logout', { _this: this.serviceContent.sessionManager });
      }
    } catch (e) {
      if (!(e instanceof Error && e.name === 'VimFault' && (e as { faultName?: string }).faultName === 'NotAuthenticated')) throw e;
    } finally {
      this.userSession = undefined;
      this.transport.sessionCookie = undefined;
      this.close();
    }
  }

  /** Closes idle sockets; the vCenter session stays alive until it times out or logout(). */
  close(): void {
    this.transport.close();
  }
}

export { decodeFault, parseXml };
