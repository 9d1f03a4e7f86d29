// Browser smoke test: headless Debian chromium (playwright-core) drives the host page against two
// hdm-vcsim sites and the real plugin server, loading the built plugin UI (plugin-ui/dist) through
// the /plugins/<key>/ proxy. Screenshots go to test-artifacts/client-host/ (git-ignored).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { CLIENT_DIR } from '../client-host';
import { REPO_ROOT } from '../lab-config';
import { ClientHost } from './client-host-server';
import { buildExtension } from '@hdm/plugin-server/dist/src/plugin/extension-descriptor';
import { ExtensionManager, VimClient } from '@hdm/plugin-server/dist/src/vsphere';
import { EXTENSION_KEY, LAB_PASSWORD, LAB_USERNAME, missingPrerequisite, PluginServer, Site, startPluginServer, startSite } from './test-sites';

const CHROMIUM = process.env.HDM_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'client-host');

function browserPrerequisite(): string | undefined {
  const missing = missingPrerequisite();
  if (missing) return missing;
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} missing (apt-get install chromium)`;
  if (!existsSync(join(REPO_ROOT, 'plugin-ui', 'dist', 'index.html'))) return 'plugin-ui/dist not built (cd plugin-ui && npm run build)';
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core not installed (npm install -w test/lab)';
  }
  return undefined;
}

describe('client host in a browser', { skip: browserPrerequisite() }, () => {
  let prem: Site;
  let cloud: Site;
  let plugin: PluginServer;
  let host: ClientHost;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let userDataDir: string;
  const pageErrors: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [prem, cloud] = await Promise.all([startSite('prem'), startSite('cloud')]);
    plugin = await startPluginServer(prem);
    host = new ClientHost({
      settings: () => ({ vcenter: { url: prem.url, thumbprint: prem.thumbprint }, extensionKey: EXTENSION_KEY, defaultUsername: LAB_USERNAME }),
      clientDir: CLIENT_DIR,
    });
    base = (await host.listen(0)).replace(/\/$/, '');
    const { chromium } = await import('playwright-core');
    userDataDir = mkdtempSync(join(tmpdir(), 'hdm-ch-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
      viewport: { width: 1280, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await context?.close().catch(() => undefined);
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await host?.close();
    await plugin?.stop();
    await Promise.all([prem?.stop(), cloud?.stop()]);
  });

  async function modalFrame(): Promise<Frame> {
    const handle = await page.waitForSelector('#modal-body iframe');
    const frame = await handle.contentFrame();
    assert.ok(frame, 'modal iframe has a frame');
    return frame;
  }

  test('wrong password shows the vCenter message', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('#login-form');
    assert.equal(await page.inputValue('#username'), LAB_USERNAME, 'prefilled from the lab settings');
    await page.fill('#password', 'not-the-password');
    await page.click('#login-submit');
    const err = await page.waitForSelector('#login-error:not([hidden])');
    assert.match((await err.textContent()) ?? '', /Login failure/);
    await page.screenshot({ path: join(ARTIFACTS, '01-login-refused.png') });
  });

  test('log in → inventory lists app-01', async () => {
    await page.fill('#password', LAB_PASSWORD);
    await page.click('#login-submit');
    await page.waitForSelector('#vm-list [role="option"]:has-text("app-01")');
    assert.equal(await page.textContent('#user-name'), LAB_USERNAME);
    assert.ok(await page.isHidden('#plugin-error'), 'plugin discovered without error');
    assert.equal((await page.textContent('#global-nav button'))?.trim(), 'HDM');
    await page.screenshot({ path: join(ARTIFACTS, '02-inventory.png') });
  });

  test('right-click app-01 → menu from plugin.json → modal with the migrate form, SDK context wired', async () => {
    await page.click('#vm-list [role="option"]:has-text("app-01")', { button: 'right' });
    const item = await page.waitForSelector('#context-menu [role="menuitem"]');
    assert.equal((await item.textContent())?.trim(), 'Migrate to cloud');
    await page.screenshot({ path: join(ARTIFACTS, '03-context-menu.png') });
    await item.click();
    await page.waitForSelector('#modal-backdrop:not([hidden])');
    assert.equal(await page.textContent('#modal-title'), 'Migrate to cloud');
    const frame = await modalFrame();
    // The host loads the action's uri through the proxy (the src it set; Angular may rewrite the frame's URL later).
    const src = await page.getAttribute('#modal-body iframe', 'src');
    assert.equal(new URL(src!, page.url()).pathname, `/plugins/${EXTENSION_KEY}/ui/index.html`);
    assert.match(new URL(frame.url()).pathname, new RegExp(`^/plugins/${EXTENSION_KEY.replace(/\./g, '\\.')}/ui/`));
    await frame.waitForSelector('form #hdm-cloud', { timeout: 30_000 });
    const sdk = await frame.evaluate(() => {
      const s = (globalThis as unknown as { htmlClientSdk: {
        isInitialized(): boolean;
        app: { getContextObjects(): Array<{ id: string }>; getProxiedPluginServerOrigin(): string; getClientLocale(): string };
      } }).htmlClientSdk;
      return { init: s.isInitialized(), ctx: s.app.getContextObjects(), origin: s.app.getProxiedPluginServerOrigin(), locale: s.app.getClientLocale() };
    });
    assert.equal(sdk.init, true);
    assert.match(sdk.ctx[0]!.id, /^urn:vmomi:VirtualMachine:vm-[^:]+:[0-9a-f-]{36}$/);
    assert.equal(sdk.origin, `${base}/plugins/${EXTENSION_KEY}`);
    assert.equal(sdk.locale, 'en-US');
    const box = await page.$eval('#modal', (el) => {
      const e = el as unknown as { offsetWidth: number; offsetHeight: number };
      return { w: e.offsetWidth, h: e.offsetHeight };
    });
    assert.deepEqual(box, { w: 720, h: 560 }, 'modal sized from the action trigger');
    await page.screenshot({ path: join(ARTIFACTS, '04-migrate-modal.png') });
  });

  test('theme switch reaches the plugin frame', async () => {
    const frame = await modalFrame();
    assert.equal(await frame.getAttribute('body', 'cds-theme'), 'light');
    // the modal backdrop covers the top bar, as in the vSphere Client: switch via the button's handler
    await page.$eval('#theme-toggle', (b) => (b as unknown as { click(): void }).click());
    await frame.waitForSelector('body[cds-theme="dark"]');
    await page.screenshot({ path: join(ARTIFACTS, '05-migrate-modal-dark.png') });
    await page.$eval('#theme-toggle', (b) => (b as unknown as { click(): void }).click());
    await frame.waitForSelector('body[cds-theme="light"]');
  });

  test('Cancel in the plugin calls modal.close() and the host closes the modal', async () => {
    const frame = await modalFrame();
    await frame.click('form .hdm-cancel');
    await page.waitForSelector('#modal-backdrop', { state: 'hidden' });
    assert.equal(await page.$('#modal-body iframe'), null);
  });

  test('monitor tab and the global view load plugin frames', async () => {
    await page.click('#vm-tabs [role="tab"]:has-text("HDM migration")');
    const viewHandle = await page.waitForSelector('#vm-tab-panel iframe');
    const view = await viewHandle.contentFrame();
    assert.ok(view);
    await view.waitForSelector('hdm-vm-monitor', { state: 'attached', timeout: 30_000 });
    assert.match(view.url(), /#\/vm-monitor$/);
    await page.screenshot({ path: join(ARTIFACTS, '06-vm-monitor.png') });
    await page.click('#global-nav button');
    const globalHandle = await page.waitForSelector('#global-frame-host iframe');
    const global = await globalHandle.contentFrame();
    assert.ok(global);
    assert.match(global.url(), /#\/jobs$/);
    await global.waitForSelector('hdm-jobs', { state: 'attached', timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, '07-global-view.png') });
  });

  test('log out returns to the login form; no page errors on the host page', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    assert.equal(host.sessions.size, 0);
    assert.deepEqual(pageErrors, []);
  });

  test('a registration whose thumbprint does not match the server: error on the page naming both, no plugin entries', async () => {
    const fakeKey = 'com.hdm.fake-thumbprint';
    const wrong = '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33';
    const admin = await VimClient.connect({ url: prem.url, thumbprint: prem.thumbprint, username: LAB_USERNAME, password: LAB_PASSWORD });
    const fakeHost = new ClientHost({
      settings: () => ({ vcenter: { url: prem.url, thumbprint: prem.thumbprint }, extensionKey: fakeKey, defaultUsername: LAB_USERNAME }),
      clientDir: CLIENT_DIR,
    });
    try {
      await new ExtensionManager(admin).register(buildExtension({ extensionKey: fakeKey, version: '0.0.1', manifestUrl: plugin.manifestUrl, serverThumbprint: wrong }));
      const at = await fakeHost.listen(0);
      await page.goto(at);
      await page.fill('#password', LAB_PASSWORD);
      await page.click('#login-submit');
      const err = await page.waitForSelector('#plugin-error:not([hidden])');
      const textContent = (await err.textContent()) ?? '';
      assert.ok(textContent.includes(wrong), textContent);
      assert.ok(textContent.includes(plugin.thumbprint.toUpperCase()), textContent);
      await page.waitForSelector('#vm-list [role="option"]:has-text("app-01")');
      await page.click('#vm-list [role="option"]:has-text("app-01")', { button: 'right' });
      await page.waitForSelector('#context-menu .menu-empty');
      assert.equal(await page.$('#context-menu [role="menuitem"]'), null, 'no plugin actions offered');
      await page.screenshot({ path: join(ARTIFACTS, '08-thumbprint-mismatch.png') });
      await page.keyboard.press('Escape');
    } finally {
      await fakeHost.close();
      await new ExtensionManager(admin).unregister(fakeKey).catch(() => undefined);
      await admin.logout();
    }
  });
});
