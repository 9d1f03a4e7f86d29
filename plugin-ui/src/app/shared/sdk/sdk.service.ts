import { DOCUMENT } from '@angular/common';
import { Injectable, inject, signal } from '@angular/core';
import { HtmlClientSdk, HtmlClientSdkTheme } from './html-client-sdk';

/** A vSphere managed object reference parsed from a context object id. */
export interface MoRef {
  type: string;
  value: string;
  serverGuid: string;
}

export type ThemeName = 'light' | 'dark';

/** Parses `urn:vmomi:VirtualMachine:vm-42:<serverGuid>` into its parts; null when malformed. */
export function parseMoRef(id: string | null | undefined): MoRef | null {
  if (!id) return null;
  const m = /^urn:vmomi:([^:]+):(.+):([^:]+)$/.exec(id);
  if (!m) return null;
  return { type: m[1], value: m[2], serverGuid: m[3] };
}

/**
 * The only place that touches `window.htmlClientSdk`. Works without the SDK (plain browser, tests):
 * `available` is false and callers show `hdm.common.sdkMissing` instead of failing.
 */
@Injectable({ providedIn: 'root' })
export class SdkService {
  private readonly document = inject(DOCUMENT);
  private initPromise: Promise<boolean> | null = null;

  /** The theme currently applied to the document (`cds-theme` attribute on <body>). */
  readonly theme = signal<ThemeName>('light');

  private get sdk(): HtmlClientSdk | undefined {
    return this.document.defaultView?.htmlClientSdk;
  }

  get available(): boolean {
    return !!this.sdk;
  }

  /**
   * Calls the SDK's `initialize` once and runs `cb` when it is ready (immediately when the SDK is
   * absent). Also subscribes to theme changes. Resolves to whether the SDK is present.
   */
  initialize(cb?: () => void): Promise<boolean> {
    if (!this.initPromise) {
      const sdk = this.sdk;
      this.initPromise = new Promise<boolean>((resolve) => {
        if (!sdk) {
          resolve(false);
          return;
        }
        sdk.initialize(() => {
          const initial = sdk.app.getTheme?.();
          if (initial) this.applyTheme(initial);
          sdk.event.onThemeChanged((theme) => this.applyTheme(theme));
          resolve(true);
        });
      });
    }
    return this.initPromise.then((ok) => {
      cb?.();
      return ok;
    });
  }

  /** The first context object (the VM a view or action was opened for), parsed. */
  getContextObject(): MoRef | null {
    const objects = this.sdk?.app.getContextObjects();
    return parseMoRef(objects?.[0]?.id);
  }

  /** The vSphere Client session token; null when the SDK is absent. */
  getSessionToken(): Promise<string | null> {
    const sdk = this.sdk;
    if (!sdk) return Promise.resolve(null);
    return new Promise((resolve) => sdk.app.getSessionInfo((info) => resolve(info?.sessionToken ?? null)));
  }

  /** Origin (possibly a path prefix) under which the vSphere Client proxies the plugin server. */
  getPluginServerOrigin(): string {
    const origin = this.sdk?.app.getProxiedPluginServerOrigin?.() ?? '';
    return origin.replace(/\/+$/, '');
  }

  getClientLocale(): string {
    return this.sdk?.app.getClientLocale() || 'en-US';
  }

  /** Closes the modal the plugin runs in; returns false when there is no SDK (nothing to close). */
  closeModal(data?: unknown): boolean {
    const sdk = this.sdk;
    if (!sdk) return false;
    if (data === undefined) sdk.modal.close();
    else sdk.modal.close(data);
    return true;
  }

  /** Applies a vSphere Client theme name ("light", "dark" or anything else → light). */
  applyTheme(theme: HtmlClientSdkTheme | string | null | undefined): void {
    const name = typeof theme === 'string' ? theme : theme?.name;
    const value: ThemeName = name === 'dark' ? 'dark' : 'light';
    this.theme.set(value);
    this.document.body.setAttribute('cds-theme', value);
  }
}
