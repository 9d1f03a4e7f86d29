/**
 * Foundation 3/3 end to end, through the browser: headless Debian Chromium (playwright-core) on the
 * lab's vSphere-Client stand-in page logs in as the prem administrator, right-clicks the powered-off
 * VM web-02, chooses "Migrate to cloud" from the plugin.json menu, fills the plugin's form with the
 * cloud vCenter's real inventory, submits, and follows the VM's HDM monitor tab to "Done"; the cloud
 * vCenter then has web-02. Also: Clarity's inline error blocks a submit without a target name, and a
 * server 409 (name taken in the cloud) is shown as is. Screenshots: test-artifacts/e2e/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Frame, Page, Request } from 'playwright-core';
import { Lab, LabJson } from '@hdm/lab/dist/lab';
import { Inventory, VimClient } from '@hdm/plugin-server/dist/src/vsphere';
import { testLabConfig } from './support';
import { artifactsDir, Browser, browserPrerequisite, frameIn, InPage, InPageElement, launchBrowser } from './browser';

const VM = 'web-02';
/** WAN rate while web-02 (32 MiB) migrates: ~9 s of copy, several 2 s polls of the monitor view. */
const SLOW_WAN_MBIT = 30;

async function connect(site: LabJson['prem']): Promise<VimClient> {
  return VimClient.connect({ url: site.url, username: site.username, password: site.password, thumbprint: site.thumbprint });
}

interface MonitorSample {
  state: string | null;
  label: string;
  percent: number;
  bytes: string;
}

describe('cold migration from the vSphere Client (host page + plugin UI in Chromium)', { skip: browserPrerequisite() }, () => {
  let lab: Lab;
  let json: LabJson;
  let browser: Browser;
  let page: Page;
  let shots: string;
  const migrationPosts: Request[] = [];

  before(async () => {
    shots = artifactsDir();
    // A lab name and /22 slot no other suite uses, so it can run beside them (hdmb/6 was taken).
    lab = new Lab(await testLabConfig('hdbw', 41));
    json = await lab.start();
    browser = await launchBrowser();
    page = browser.page;
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname.endsWith('/api/v1/migrations')) migrationPosts.push(r);
    });
  });

  after(async () => {
    await browser?.close();
    await lab?.network.shape(lab.cfg.wanMbit).catch(() => undefined);
    await lab?.stop();
  });

  /** Right-click `name` in the inventory, check the plugin menu, choose its action; the modal's frame. */
  async function openMigrate(name: string, screenshot?: string): Promise<Frame> {
    await page.click(`#vm-list [role="option"]:has-text("${name}")`, { button: 'right' });
    await page.waitForSelector('#context-menu:not([hidden])');
    assert.equal((await page.textContent('#context-menu .menu-header'))?.trim(), name);
    const items = await page.$$eval('#context-menu [role="menuitem"]', (els) => els.map((e) => (e.textContent ?? '').trim()));
    assert.deepEqual(items, ['Migrate to cloud'], 'the menu is plugin.json\'s VirtualMachine actions');
    if (screenshot) await page.screenshot({ path: join(shots, screenshot) });
    await page.click('#context-menu [role="menuitem"]:has-text("Migrate to cloud")');
    await page.waitForSelector('#modal-backdrop:not([hidden])');
    assert.equal(await page.textContent('#modal-title'), 'Migrate to cloud');
    const frame = await frameIn(page, '#modal-body iframe');
    await frame.waitForSelector('form #hdm-cloud', { timeout: 30_000 });
    // The cloud's inventory arrived (cluster choices) and the VM's summary too (target name default).
    await frame.waitForFunction(
      () => {
        const doc = (globalThis as unknown as InPage).document;
        return doc.querySelectorAll('#hdm-cluster option').length > 1 && !!doc.querySelector('#hdm-target-name')?.value;
      },
      undefined,
      { timeout: 20_000 },
    );
    return frame;
  }

  const optionLabels = (frame: Frame, select: string) =>
    frame.$$eval(`${select} option`, (opts) =>
      (opts as unknown as InPageElement[]).filter((o) => o.value !== '').map((o) => (o.textContent ?? '').trim()),
    );
  const selectedLabel = (frame: Frame, select: string) =>
    frame.$eval(select, (s) => {
      const el = s as unknown as InPageElement;
      return el.selectedIndex >= 0 ? (el.options[el.selectedIndex]!.textContent ?? '').trim() : '';
    });

  /** Cluster and datastore by name (no defaults: both required), the same-name network, power-on off. */
  async function fillPlacement(frame: Frame, cluster: string, datastore: string): Promise<void> {
    await frame.selectOption('#hdm-cluster', { label: cluster });
    const dsLabel = (await optionLabels(frame, '#hdm-datastore')).find((l) => l.startsWith(`${datastore} (`));
    assert.ok(dsLabel, `datastore ${datastore} offered`);
    await frame.selectOption('#hdm-datastore', { label: dsLabel });
    await frame.waitForFunction(() => !!(globalThis as unknown as InPage).document.querySelector('#hdm-net-0')?.value, undefined, { timeout: 10_000 });
    assert.equal(await selectedLabel(frame, '#hdm-net-0'), 'VM Network', 'same-name network preselected');
    await frame.setChecked('#hdm-power-on', false);
    assert.equal(await frame.isChecked('#hdm-power-on'), false);
    assert.equal(await frame.$$eval('clr-control-error', (e) => e.length), 0, 'no inline errors left');
  }

  test('log in as the prem administrator → the inventory lists the prem vCenter\'s VMs', async () => {
    await page.goto(json.client.url);
    await page.waitForSelector('#login-form');
    await page.fill('#username', json.prem.username);
    await page.fill('#password', json.prem.password);
    await page.click('#login-submit');
    await page.waitForSelector(`#vm-list [role="option"]:has-text("${VM}")`, { timeout: 20_000 });
    assert.equal(await page.textContent('#user-name'), json.prem.username);
    assert.ok(await page.isHidden('#plugin-error'), 'plugin discovered without error');

    const listed = await page.$$eval('#vm-list [role="option"] .vm-name', (els) => els.map((e) => e.textContent ?? ''));
    const prem = await connect(json.prem);
    try {
      const real = (await new Inventory(prem).vms()).map((v) => v.name);
      assert.deepEqual([...listed].sort(), [...real].sort(), 'the page lists exactly the prem vCenter\'s VMs');
      const vm = (await new Inventory(prem).vms()).find((v) => v.name === VM)!;
      assert.equal(vm.powerState, 'poweredOff');
    } finally {
      await prem.logout();
    }
    assert.equal(await page.getAttribute(`#vm-list [role="option"]:has-text("${VM}")`, 'title'), `${VM} (Powered off)`);
  });

  test('right-click web-02 → "Migrate to cloud" → the form shows the cloud vCenter\'s real choices; inline validation blocks an empty name', async () => {
    const frame = await openMigrate(VM, '01-context-menu.png');

    // Real lab data: the one configured cloud, and the cloud vCenter's clusters, datastores, networks.
    assert.deepEqual(await optionLabels(frame, '#hdm-cloud'), ['cloud']);
    assert.equal(await frame.inputValue('#hdm-cloud'), 'cloud', 'the only cloud is preselected');
    const cloud = await connect(json.cloud);
    let clusters: string[], datastores: string[], networks: string[];
    try {
      const inv = new Inventory(cloud);
      clusters = (await inv.clusters()).map((c) => c.name);
      datastores = (await inv.datastores()).map((d) => d.name);
      networks = (await inv.networks()).map((n) => n.name);
    } finally {
      await cloud.logout();
    }
    assert.ok(clusters.length && datastores.length && networks.length, 'the cloud vCenter has placement choices');
    assert.deepEqual((await optionLabels(frame, '#hdm-cluster')).sort(), [...clusters].sort());
    const dsLabels = await optionLabels(frame, '#hdm-datastore');
    assert.deepEqual(dsLabels.map((l) => l.replace(/ \(.* free\)$/, '')).sort(), [...datastores].sort());
    assert.deepEqual((await optionLabels(frame, '#hdm-net-0')).sort(), [...networks].sort());
    assert.match((await frame.textContent('.hdm-vm-summary')) ?? '', new RegExp(`^\\s*${VM}:`));
    assert.equal(await frame.inputValue('#hdm-target-name'), VM, 'target name defaults to the VM name');

    // Inline validation: clear the required name → Clarity's error under the field; submit sends nothing.
    const postsBefore = migrationPosts.length;
    await frame.fill('#hdm-target-name', '');
    await frame.press('#hdm-target-name', 'Tab');
    const err = await frame.waitForSelector('clr-input-container clr-control-error', { timeout: 5_000 });
    assert.equal((await err.textContent())?.trim(), 'Enter a name for the migrated VM.');
    assert.ok(await err.isVisible(), 'the error is shown under the field');
    const errId = await err.getAttribute('id');
    const describedBy = (await frame.getAttribute('#hdm-target-name', 'aria-describedby')) ?? '';
    assert.ok(errId && describedBy.split(' ').includes(errId), `the input is described by its error (${describedBy} / ${errId})`);
    assert.ok(await frame.$('clr-input-container .clr-control-container.clr-error'), 'Clarity marks the control in error');
    await frame.click('form button.hdm-submit');
    await page.waitForTimeout(750); // a POST would leave within this time
    assert.equal(migrationPosts.length, postsBefore, 'no POST /api/v1/migrations while the form is invalid');
    assert.ok(await page.isVisible('#modal-backdrop'), 'the modal stays open');
    assert.equal(await frame.$('.hdm-submitted'), null);
    await frame.fill('#hdm-target-name', VM);
    await frame.waitForSelector('clr-input-container clr-control-error', { state: 'detached', timeout: 5_000 });

    // Fill: placement from the cloud vCenter, network mapped by name, no power-on.
    await fillPlacement(frame, clusters[0]!, datastores[0]!);
    // The form is taller than the 720×560 modal: one shot of its top (cloud, cluster), one of its end.
    await (await frame.waitForSelector('#hdm-cloud')).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, '02-migrate-modal-filled-top.png') });
    await (await frame.waitForSelector('form button.hdm-submit')).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, '02-migrate-modal-filled-bottom.png') });
  });

  test('submit → 201, the modal closes; the monitor tab shows live progress and reaches "Done"; the cloud vCenter has web-02', async () => {
    const frame = await frameIn(page, '#modal-body iframe');
    await lab.network.shape(SLOW_WAN_MBIT);
    const started = Date.now();
    try {
      const response = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/api/v1/migrations'));
      await frame.click('form button.hdm-submit');
      const r = await response;
      const body = (await r.json()) as { id: string; state: string; request?: { powerOn?: boolean } };
      assert.equal(r.status(), 201, JSON.stringify(body));
      assert.deepEqual(r.request().postDataJSON()?.powerOn, false);
      assert.equal(r.request().postDataJSON()?.targetName, VM);
      await page.waitForSelector('#modal-backdrop', { state: 'hidden', timeout: 10_000 });
      assert.equal(await page.$('#modal-body iframe'), null, 'modal.close() removed the plugin frame');

      // The VM's HDM monitor tab (web-02 is still the selected object).
      assert.equal(await page.textContent('#vm-title'), VM);
      await page.click('#vm-tabs [role="tab"]:has-text("HDM migration")');
      const view = await frameIn(page, '#vm-tab-panel iframe');
      await view.waitForSelector('hdm-job-state-label .label', { timeout: 30_000 });
      assert.equal((await view.textContent('.hdm-job-head h3'))?.trim(), 'Migration to cloud');

      const samples: MonitorSample[] = [];
      const deadline = Date.now() + 60_000;
      for (;;) {
        const s = await view.evaluate((): MonitorSample => {
          const doc = (globalThis as unknown as InPage).document;
          const label = doc.querySelector('hdm-job-state-label .label');
          const progress = doc.querySelector('.hdm-progress progress');
          return {
            state: label?.getAttribute('data-state') ?? null,
            label: (label?.textContent ?? '').trim(),
            percent: progress ? Number(progress.value) : -1,
            bytes: (doc.querySelector('.hdm-bytes')?.textContent ?? '').trim(),
          };
        });
        const last = samples[samples.length - 1];
        if (!last || last.state !== s.state || last.percent !== s.percent) samples.push(s);
        if (s.state === 'done' || s.state === 'failed' || s.state === 'cancelled') break;
        if (Date.now() > deadline) throw new Error(`monitor did not reach an end state in 60 s: ${JSON.stringify(samples)}`);
        await page.waitForTimeout(200);
      }
      const end = samples[samples.length - 1]!;
      const jobError = await view.$('.hdm-job-error');
      assert.equal(end.state, 'done', `monitor ended ${end.label}: ${jobError ? await jobError.textContent() : ''} (${JSON.stringify(samples)})`);
      assert.equal(end.label, 'Done');
      assert.equal(end.percent, 100);
      assert.match(end.bytes, /\(100%\)$/);
      const running = samples.filter((s) => s.state === 'running');
      assert.ok(running.some((s) => s.percent > 0 && s.percent < 100 && s.label === 'Running'), `partial progress seen while running: ${JSON.stringify(samples)}`);
      assert.ok(new Set(running.map((s) => s.percent)).size >= 2, `progress updated live: ${JSON.stringify(samples)}`);
      for (let i = 1; i < samples.length; i++) assert.ok(samples[i]!.percent >= samples[i - 1]!.percent, `progress never goes back: ${JSON.stringify(samples)}`);
      assert.equal((await view.textContent('.hdm-rate'))?.trim(), '—', 'no rate once finished');
      assert.notEqual((await view.textContent('.hdm-ended'))?.trim(), '—', 'end time shown');
      await page.waitForTimeout(500); // let Clarity's progress-bar transition reach 100 % for the picture
      await page.screenshot({ path: join(shots, '03-monitor-done.png') });
      console.log(`# migration of ${VM} over ${SLOW_WAN_MBIT} Mbit/s: ${((Date.now() - started) / 1000).toFixed(1)} s; monitor showed ${samples.map((s) => `${s.state}:${s.percent}%`).join(' → ')}`);
    } finally {
      await lab.network.shape(lab.cfg.wanMbit);
    }

    const cloud = await connect(json.cloud);
    try {
      const vm = (await new Inventory(cloud).vms()).find((v) => v.name === VM);
      assert.ok(vm, `the cloud vCenter has a VM named ${VM}`);
      assert.equal(vm.powerState, 'poweredOff', '"Power on after migration" was off');
    } finally {
      await cloud.logout();
    }
  });

  test('a server 4xx is shown as is: migrating web-02 again → 409 "exists already" in the form, modal stays open', async () => {
    const frame = await openMigrate(VM);
    assert.equal(await frame.inputValue('#hdm-target-name'), VM);
    await fillPlacement(frame, (await optionLabels(frame, '#hdm-cluster'))[0]!, (await optionLabels(frame, '#hdm-datastore'))[0]!.replace(/ \(.* free\)$/, ''));
    const response = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname.endsWith('/api/v1/migrations'));
    await frame.click('form button.hdm-submit');
    const r = await response;
    const body = (await r.json()) as { message: string };
    assert.equal(r.status(), 409, JSON.stringify(body));
    assert.match(body.message, /exists already/);
    const alert = await frame.waitForSelector('hdm-api-error-alert .hdm-api-error .alert-text', { timeout: 5_000 });
    assert.equal((await alert.textContent())?.trim(), body.message, 'the server\'s message, word for word');
    assert.ok(await page.isVisible('#modal-backdrop'), 'the modal stays open on an error');
    assert.equal(await frame.$('.hdm-submitted'), null);
    // The user clicked Migrate at the end of a scrolled form: the alert above the form must come into view.
    const where = () =>
      alert.evaluate((el) => {
        const r = (el as unknown as { getBoundingClientRect(): { top: number; bottom: number } }).getBoundingClientRect();
        return { top: Math.round(r.top), bottom: Math.round(r.bottom), viewport: (globalThis as unknown as { innerHeight: number }).innerHeight };
      });
    const inView = async () => {
      const w = await where();
      return w.top >= 0 && w.bottom <= w.viewport;
    };
    const until = Date.now() + 3_000;
    while (!(await inView()) && Date.now() < until) await page.waitForTimeout(100);
    assert.ok(await inView(), `the 409 alert is in the modal's view: ${JSON.stringify(await where())}`);
    await page.screenshot({ path: join(shots, '04-migrate-409.png') });
    await frame.click('form .hdm-cancel');
    await page.waitForSelector('#modal-backdrop', { state: 'hidden', timeout: 5_000 });
  });

  test('no uncaught errors on the host page', () => {
    assert.deepEqual(browser.pageErrors, []);
  });
});
