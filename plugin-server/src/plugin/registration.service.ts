import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { HDM_CONFIG, HdmConfig, VcenterEndpoint } from '../config/hdm-config';
import { PkiService } from '../pki/pki.service';
import { ensureAlarmsIn } from './alarm-definitions';
import { buildExtension, ExtensionSpec, reconcileExtension } from './extension-descriptor';
import { describeVcenterError, openExtensionRegistry, ExtensionRegistry } from './extension-registry';

export type RegistrationState =
  | { state: 'disabled'; message: string }
  | { state: 'pending'; message: string; attempts: number }
  | { state: 'registered'; action: 'register' | 'update' | 'none'; thumbprint: string; at: string }
  | { state: 'error'; message: string };

const RETRY_MS = 3_000;

/**
 * Keeps this server registered as a remote plugin in the prem vCenter. Idempotent:
 * registers when absent, updates when the URL, thumbprint, version or type lists
 * changed (a new certificate updates the one registration, never adds a second).
 */
@Injectable()
export class RegistrationService implements OnApplicationShutdown {
  private readonly logger = new Logger(RegistrationService.name);
  private status: RegistrationState;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    @Inject(HDM_CONFIG) private readonly config: HdmConfig,
    private readonly pki: PkiService,
  ) {
    this.status = config.vcenter
      ? { state: 'pending', message: 'not started', attempts: 0 }
      : { state: 'disabled', message: 'no vCenter configured (set HDM_VC_URL, HDM_VC_USERNAME, HDM_VC_PASSWORD)' };
  }

  get state(): RegistrationState {
    return this.status;
  }

  get manifestUrl(): string {
    return `${this.config.publicUrl}/ui/plugin.json`;
  }

  desiredExtension(): ExtensionSpec {
    return buildExtension({
      extensionKey: this.config.extensionKey,
      version: this.config.version,
      manifestUrl: this.manifestUrl,
      serverThumbprint: this.pki.serverCertificate.sha1,
    });
  }

  /** Starts registering in the background, retrying while vCenter is unreachable. */
  start(): void {
    if (!this.config.vcenter) {
      this.logger.warn(this.status.state === 'disabled' ? this.status.message : '');
      return;
    }
    void this.attempt(this.config.vcenter, 1);
  }

  private async attempt(vc: VcenterEndpoint, attempts: number): Promise<void> {
    if (this.stopped) return;
    this.status = { state: 'pending', message: `connecting to ${vc.url}`, attempts };
    try {
      const action = await this.registerOnce(vc);
      this.status = { state: 'registered', action, thumbprint: this.pki.serverCertificate.sha1, at: new Date().toISOString() };
      this.logger.log(`extension ${this.config.extensionKey} in ${vc.url}: ${action === 'none' ? 'already current' : action + 'ed'}`);
    } catch (err) {
      const { message, retry } = describeVcenterError(err, vc);
      if (retry && !this.stopped) {
        this.status = { state: 'pending', message, attempts };
        this.logger.warn(`${message} — retrying in ${RETRY_MS / 1000} s`);
        this.timer = setTimeout(() => void this.attempt(vc, attempts + 1), RETRY_MS);
      } else {
        this.status = { state: 'error', message };
        this.logger.error(message);
      }
    }
  }

  /** One reconcile pass; resolves with what it did. */
  async registerOnce(vc: VcenterEndpoint): Promise<'register' | 'update' | 'none'> {
    const registry: ExtensionRegistry = await openExtensionRegistry(vc);
    try {
      const desired = this.desiredExtension();
      const current = await registry.find(desired.key);
      const action = reconcileExtension(current, desired);
      if (action === 'register') await registry.register(desired);
      if (action === 'update') await registry.update(desired);
      await ensureAlarmsIn(vc, this.config.extensionKey); // alarm-definitions.ts: HDM's alarms, found by name
      return action;
    } finally {
      await registry.close();
    }
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
