/**
 * Headless Debian Chromium through playwright-core for the e2e browser scenarios. The launch flags
 * are those of test/lab's browser smoke test (kept there unchanged; copied here, not shared).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { REPO_ROOT } from './support';

export const CHROMIUM = process.env.HDM_CHROMIUM || '/usr/bin/chromium';
export const E2E_ARTIFACTS = join(REPO_ROOT, 'test-artifacts', 'e2e');

/** Why the browser scenarios cannot run here, or undefined when they can. */
export function browserPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return 'the lab needs root (network namespaces)';
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} missing (apt-get install chromium)`;
  if (!existsSync(join(REPO_ROOT, 'plugin-ui', 'dist', 'index.html'))) return 'plugin-ui/dist not built (cd plugin-ui && npm run build)';
  if (!existsSync(join(REPO_ROOT, '.hdm-lab', 'bin', 'hdm-vcsim'))) return '.hdm-lab/bin/hdm-vcsim not built (npm run build)';
  try {
    require.resolve('playwright-core');
  } catch {
    return 'playwright-core not installed (npm install -w test/e2e)';
  }
  return undefined;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Uncaught errors of the host page. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** A fresh temporary profile in headless Chromium, one page of 1280×800. */
export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  const userDataDir = mkdtempSync(join(tmpdir(), 'hdm-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 800 },
  });
  // Bound every wait: no playwright call may sit on its 30 s default unnoticed.
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** The plugin frame inside `selector` (an iframe) once it is attached. */
export async function frameIn(page: Page, selector: string): Promise<Frame> {
  const handle = await page.waitForSelector(selector);
  const frame = await handle.contentFrame();
  if (!frame) throw new Error(`${selector} has no frame`);
  return frame;
}

export function artifactsDir(): string {
  mkdirSync(E2E_ARTIFACTS, { recursive: true });
  return E2E_ARTIFACTS;
}

/**
 * The little of the DOM that page functions here use (the e2e project compiles without lib "dom").
 * Inside `evaluate` callbacks: `const doc = (globalThis as unknown as InPage).document`.
 */
export interface InPageElement {
  textContent: string | null;
  value: string | number;
  selectedIndex: number;
  options: ArrayLike<InPageElement>;
  getAttribute(name: string): string | null;
}
export interface InPage {
  document: {
    querySelector(selector: string): InPageElement | null;
    querySelectorAll(selector: string): ArrayLike<InPageElement>;
  };
}
