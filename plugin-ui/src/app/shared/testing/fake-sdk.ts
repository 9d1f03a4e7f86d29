import { HtmlClientSdk, HtmlClientSdkTheme } from '@shared/sdk/html-client-sdk';

/** A fake `window.htmlClientSdk` for specs; install with installFakeSdk(), remove with removeFakeSdk(). */
export interface FakeSdk extends HtmlClientSdk {
  closeCalls: unknown[][];
  themeListeners: ((theme: HtmlClientSdkTheme) => void)[];
  token: string;
  contextIds: string[];
}

export function installFakeSdk(opts: { contextId?: string | null; token?: string; locale?: string; origin?: string } = {}): FakeSdk {
  const fake: FakeSdk = {
    closeCalls: [],
    themeListeners: [],
    token: opts.token ?? 'token-123',
    contextIds: opts.contextId === null ? [] : [opts.contextId ?? 'urn:vmomi:VirtualMachine:vm-42:6f1c0e2a-1111-2222-3333-444455556666'],
    initialize(cb: () => void) {
      cb();
    },
    app: {
      getContextObjects: () => fake.contextIds.map((id) => ({ id })),
      getSessionInfo: (cb) => cb({ sessionToken: fake.token }),
      getClientLocale: () => opts.locale ?? 'en-US',
      getProxiedPluginServerOrigin: () => opts.origin ?? '',
    },
    modal: {
      close: (...args: unknown[]) => {
        fake.closeCalls.push(args);
      },
    },
    event: {
      onThemeChanged: (cb) => {
        fake.themeListeners.push(cb);
      },
    },
  };
  window.htmlClientSdk = fake;
  return fake;
}

export function removeFakeSdk(): void {
  delete window.htmlClientSdk;
}
