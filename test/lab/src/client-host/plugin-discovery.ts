import { ExtensionManager, VimClient } from '@hdm/plugin-server/dist/src/vsphere';
import { getPinned, normalizeThumbprint, PinnedAgent, ThumbprintMismatchError } from './pinned-https';

/** The subset of plugin.json (manifestVersion 1.2.0) the host page renders. */
export interface PluginManifest {
  manifestVersion?: string;
  configuration?: { nameKey?: string };
  global?: { view?: { navigationId?: string; uri?: string; navigationVisible?: boolean } };
  objects?: {
    VirtualMachine?: {
      menu?: { actions?: Array<{ id: string; labelKey?: string; trigger?: { type?: string; uri?: string; titleKey?: string; size?: { width?: number; height?: number } } }> };
      monitor?: { views?: Array<{ id: string; labelKey?: string; uri?: string }> };
    };
  };
  definitions?: { i18n?: { locales?: string[]; definitions?: Record<string, Record<string, string>> } };
}

/** One extension point as the page draws it: labels resolved, URLs already pointing at the proxy. */
export interface PluginAction { id: string; label: string; title: string; url: string; width: number; height: number }
export interface PluginView { id: string; label: string; url: string }

/** What discovery hands the page (GET /api/host/plugin). */
export interface DiscoveredPlugin {
  extensionKey: string;
  version: string;
  /** The `vsphere-client-remote` client URL (plugin.json) as registered. */
  manifestUrl: string;
  /** The MANIFEST_SERVER's registered SHA-1 `serverThumbprint` (colon hex) every connection is pinned to. */
  serverThumbprint: string;
  /** Origin of the plugin server (https://host:port): what `/plugins/<key>/` forwards to. */
  pluginOrigin: string;
  /** Path prefix on the client host that proxies pluginOrigin (`/plugins/<key>`). */
  proxyBase: string;
  name: string;
  globalView?: PluginView;
  vmActions: PluginAction[];
  vmMonitorViews: PluginView[];
  manifest: PluginManifest;
}

/** Why the plugin is not loaded; `kind` picks the page's message. */
export class DiscoveryError extends Error {
  constructor(
    readonly kind: 'not-registered' | 'thumbprint-mismatch' | 'manifest-unavailable',
    message: string,
    readonly details: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

export const LOCALE = 'en-US';

/** Path prefix under which the client host proxies the plugin with this key. */
export function proxyBaseFor(extensionKey: string): string {
  return `/plugins/${encodeURIComponent(extensionKey)}`;
}

/**
 * The label for `key` in plugin.json's i18n definitions: the exact locale, then its language
 * (`en`), then en-US, then the key itself (what the vSphere Client shows for a missing key).
 */
export function resolveLabel(manifest: PluginManifest, key: string | undefined, locale = LOCALE): string {
  if (!key) return '';
  const defs = manifest.definitions?.i18n?.definitions?.[key];
  if (!defs) return key;
  return defs[locale] ?? defs[locale.split('-')[0]!] ?? defs[LOCALE] ?? Object.values(defs)[0] ?? key;
}

/**
 * Rewrites a manifest `uri` (relative to plugin.json) to the proxied URL the iframe loads: the
 * same path below `proxyBase` on the client host. URIs leaving the plugin origin are refused.
 */
export function proxiedUri(uri: string, manifestUrl: string, proxyBase: string): string {
  const abs = new URL(uri, manifestUrl);
  const origin = new URL(manifestUrl).origin;
  if (abs.origin !== origin) throw new DiscoveryError('manifest-unavailable', `plugin.json uri ${uri} leaves the plugin server ${origin}`);
  return `${proxyBase}${abs.pathname}${abs.search}${abs.hash}`;
}

/** Builds the page's view of a manifest (labels resolved, URLs proxied). */
export function describeManifest(manifest: PluginManifest, base: { extensionKey: string; version: string; manifestUrl: string; serverThumbprint: string }): DiscoveredPlugin {
  const proxyBase = proxyBaseFor(base.extensionKey);
  const url = (uri: string) => proxiedUri(uri, base.manifestUrl, proxyBase);
  const vm = manifest.objects?.VirtualMachine;
  const gv = manifest.global?.view;
  return {
    ...base,
    pluginOrigin: new URL(base.manifestUrl).origin,
    proxyBase,
    name: resolveLabel(manifest, manifest.configuration?.nameKey) || base.extensionKey,
    globalView: gv?.uri && gv.navigationVisible !== false
      ? { id: gv.navigationId ?? 'global', label: resolveLabel(manifest, manifest.configuration?.nameKey) || base.extensionKey, url: url(gv.uri) }
      : undefined,
    vmActions: (vm?.menu?.actions ?? [])
      .filter((a) => a.trigger?.uri && (a.trigger.type ?? 'modal') === 'modal')
      .map((a) => ({
        id: a.id,
        label: resolveLabel(manifest, a.labelKey) || a.id,
        title: resolveLabel(manifest, a.trigger!.titleKey ?? a.labelKey) || a.id,
        url: url(a.trigger!.uri!),
        width: a.trigger!.size?.width ?? 600,
        height: a.trigger!.size?.height ?? 400,
      })),
    vmMonitorViews: (vm?.monitor?.views ?? [])
      .filter((v) => v.uri)
      .map((v) => ({ id: v.id, label: resolveLabel(manifest, v.labelKey) || v.id, url: url(v.uri!) })),
    manifest,
  };
}

/**
 * Discovers the remote plugin `extensionKey` the way the vSphere Client does: FindExtension in the
 * vCenter → the `vsphere-client-remote` client URL (plugin.json) and the MANIFEST_SERVER's
 * `serverThumbprint`; then GET plugin.json over TLS pinned to that thumbprint. A server presenting
 * another certificate is refused (`thumbprint-mismatch`, naming both thumbprints).
 * Returns the agent too: the proxy reuses it, so every byte to the plugin runs over the same pin.
 */
export async function discoverPlugin(vim: VimClient, extensionKey: string): Promise<{ plugin: DiscoveredPlugin; agent: PinnedAgent }> {
  const ext = await new ExtensionManager(vim).find(extensionKey);
  if (!ext) throw new DiscoveryError('not-registered', `no extension ${extensionKey} is registered in ${vim.url}`, { extensionKey });
  const client = ext.client?.find((c) => c.type === 'vsphere-client-remote');
  if (!client?.url) throw new DiscoveryError('not-registered', `extension ${extensionKey} has no vsphere-client-remote client`, { extensionKey });
  const manifestUrl = client.url;
  const origin = new URL(manifestUrl).origin;
  const servers = (ext.server ?? []).filter((s) => s.type === 'MANIFEST_SERVER');
  const server = servers.find((s) => safeOrigin(s.url) === origin) ?? servers[0];
  if (!server?.serverThumbprint) {
    throw new DiscoveryError('not-registered', `extension ${extensionKey} names no MANIFEST_SERVER serverThumbprint: the plugin cannot be trusted`, { extensionKey });
  }
  const serverThumbprint = normalizeThumbprint(server.serverThumbprint);
  const agent = new PinnedAgent(serverThumbprint, manifestUrl);
  let res: { status: number; body: string };
  try {
    res = await getPinned(manifestUrl, agent);
  } catch (e) {
    agent.destroy();
    if (e instanceof ThumbprintMismatchError) {
      throw new DiscoveryError('thumbprint-mismatch',
        `refused to load plugin ${extensionKey}: ${manifestUrl} presented certificate ${e.actual}, but its vCenter registration names serverThumbprint ${e.expected}`,
        { extensionKey, manifestUrl, expected: e.expected, actual: e.actual });
    }
    throw new DiscoveryError('manifest-unavailable', `cannot fetch ${manifestUrl}: ${(e as Error).message}`, { extensionKey, manifestUrl });
  }
  let manifest: PluginManifest;
  try {
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    manifest = JSON.parse(res.body) as PluginManifest;
  } catch (e) {
    agent.destroy();
    throw new DiscoveryError('manifest-unavailable', `plugin.json at ${manifestUrl} is unusable: ${(e as Error).message}`, { extensionKey, manifestUrl });
  }
  const plugin = describeManifest(manifest, { extensionKey, version: client.version ?? ext.version ?? '', manifestUrl, serverThumbprint });
  return { plugin, agent };
}

function safeOrigin(url: string | undefined): string | undefined {
  try {
    return url ? new URL(url).origin : undefined;
  } catch {
    return undefined;
  }
}
