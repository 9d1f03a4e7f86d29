/**
 * The subset of the vSphere Client remote-plugin SDK (`window.htmlClientSdk`, plugin API 1.2.0)
 * that HDM uses. Only SdkService reads these types from `window`.
 */
export interface HtmlClientSdkContextObject {
  id: string;
  [key: string]: unknown;
}

export interface HtmlClientSdkSessionInfo {
  sessionToken: string;
}

export interface HtmlClientSdkTheme {
  name: string;
}

export interface HtmlClientSdk {
  initialize(callback: () => void): void;
  isInitialized?(): boolean;
  app: {
    getContextObjects(): HtmlClientSdkContextObject[] | undefined;
    getSessionInfo(callback: (info: HtmlClientSdkSessionInfo) => void): void;
    getClientLocale(): string;
    getProxiedPluginServerOrigin?(): string;
    getTheme?(): HtmlClientSdkTheme;
  };
  modal: {
    close(data?: unknown): void;
  };
  event: {
    onThemeChanged(callback: (theme: HtmlClientSdkTheme) => void): void;
  };
}

declare global {
  interface Window {
    htmlClientSdk?: HtmlClientSdk;
  }
}
