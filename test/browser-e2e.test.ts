/**
 * The browser example in a real browser: Debian's Chromium (driven by playwright-core) opens
 * examples/browser/, which loads the client's built ESM bundle, fetches recommendations from a real
 * server on another origin (CORS, publishable key), renders them and sends impressions; the test
 * clicks the second card and finds the click in the server's SQLite store under the recommId the
 * page was given.
 *
 * Needs /usr/bin/chromium (apt-get install chromium) or TASTEMAKER_CHROMIUM=<path>. Set
 * TASTEMAKER_SCREENSHOT=<file.png> to keep a screenshot of the page after the click.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecommendResponse } from '@tastemaker/client';
import { silentLogger, startServer, type RunningServer } from '@tastemaker/server';
import { fitModel, positivesTrainSet, syntheticDataset, TRAINER_VERSION, writeBundle } from '@tastemaker/trainer';
import { serveExample, type ExampleServer } from '../examples/browser/serve.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const CLIENT_SRC = join(REPO, 'packages/client/src');
const CLIENT_DIST = join(REPO, 'packages/client/dist');
const CHROMIUM = process.env.TASTEMAKER_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const keys = { secret: 'sk_browser_e2e', publishable: 'pk_browser_e2e' };
const USER = 'user-0001';
const K = 6;

const chromiumFound = existsSync(CHROMIUM);
let root: string | undefined;
let api: RunningServer | undefined;
let site: ExampleServer | undefined;
let browser: Browser | undefined;
let page: Page;
/** What the browser printed, shown when an assertion fails. */
const browserLog: string[] = [];

beforeAll(async () => {
  // Without a browser nothing else is worth building; the test itself then fails (vitest would only
  // mark it skipped if this hook threw).
  if (!chromiumFound) return;
  const dir = await mkdtemp(join(tmpdir(), 'tm-browser-e2e-'));
  root = dir;
  const clientDist = await freshClientDist(join(dir, 'client-dist'));

  // A small synthetic catalogue keeps BPR's fit well under a second.
  const dataset = syntheticDataset({ users: 60, items: 48, seed: 1 });
  const train = positivesTrainSet(dataset);
  const fitted = await fitModel('bpr', train, { seed: 1, epochs: 5, dim: 8 });
  const bundle = join(dir, 'bundle');
  try {
    await writeBundle(bundle, { modelId: 'bpr', spec: fitted.exportSpec(), dataset, trainCsr: train.csr, trainerVersion: TRAINER_VERSION });
  } finally {
    fitted.dispose();
  }

  // The page is served from its own origin, so the API must allow it by CORS, as in production.
  site = await serveExample({ port: 0, clientDist });
  api = await startServer({
    bundle,
    port: 0,
    host: '127.0.0.1',
    db: join(dir, 'tastemaker.db'),
    keys,
    cors: { origin: site.origin },
    device: 'cpu',
    index: 'exact',
    logger: silentLogger,
    processMetrics: false,
  });

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30_000 });
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('console', (m) => browserLog.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => browserLog.push(`pageerror: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) browserLog.push(`http ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  page.on('requestfailed', (r) => browserLog.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`));
});

afterAll(async () => {
  await browser?.close();
  await api?.close();
  await site?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('browser example in Chromium', () => {
  it('shows recommendations, and a click reaches the store with the recommId the page received', async () => {
    if (!chromiumFound) {
      throw new Error(`Chromium not found at ${CHROMIUM}. Install Debian's package (apt-get install -y chromium) or set TASTEMAKER_CHROMIUM to a Chromium binary.`);
    }
    if (!api || !site) throw new Error('setup failed');
    const url = `${site.pageUrl}?${new URLSearchParams({ endpoint: api.url, key: keys.publishable, user: USER, k: String(K) })}`;
    const recommended = page.waitForResponse((r) => r.url() === `${api?.url}/v1/recommend` && r.request().method() === 'POST');
    await page.goto(url);
    const response = await recommended;
    expect(response.status(), browserLog.join('\n')).toBe(200);
    const rec = (await response.json()) as RecommendResponse;
    expect(rec.items).toHaveLength(K);

    const status = page.locator('#status');
    await page.locator('#status:is([data-state="ready"], [data-state="error"])').waitFor();
    expect(await status.getAttribute('data-state'), `${await status.textContent()}\n${browserLog.join('\n')}`).toBe('ready');

    // The page renders what the server sent, in order, under the same recommId.
    const cards = page.locator('#recs [data-item-id]');
    expect(await cards.evaluateAll((els) => els.map((el) => el.getAttribute('data-item-id')))).toEqual(rec.items.map((i) => i.itemId));
    expect(await page.locator('#recs').getAttribute('data-recomm-id')).toBe(rec.recommId);

    const second = rec.items[1];
    if (!second) throw new Error('fewer than two recommendations');
    await cards.nth(1).click();
    await page.locator('#status:is([data-state="sent"], [data-state="queued"], [data-state="error"])').waitFor();
    expect(await status.getAttribute('data-state'), `${await status.textContent()}\n${browserLog.join('\n')}`).toBe('sent');

    const store = api.store;
    const clicks = await store.listEvents({ recommId: rec.recommId, type: 'click' });
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({ type: 'click', itemId: second.itemId, userId: USER, recommId: rec.recommId, position: 1 });
    // Attribution: the click counted as a reward on the impression the server logged for that slot.
    const impression = await store.getImpression(rec.recommId, second.itemId);
    expect(impression?.position).toBe(1);
    expect(impression?.reward ?? 0).toBeGreaterThan(0);
    expect((await store.getRecommendation(rec.recommId))?.context).toEqual({ page: 'browser-example' });

    // Every card was on screen, so each gets one impression; an impression that missed the
    // click's flush goes out on the client's timer, hence the poll.
    await expect
      .poll(async () => (await store.listEvents({ recommId: rec.recommId, type: 'impression' })).map((e) => e.itemId).sort(), { timeout: 10_000 })
      .toEqual(rec.items.map((i) => i.itemId).sort());
    const impressions = await store.listEvents({ recommId: rec.recommId, type: 'impression' });
    for (const e of impressions) expect(e.position).toBe(rec.items.findIndex((i) => i.itemId === e.itemId));

    // The page's event log lists what the server acknowledged, the click included.
    await expect.poll(() => page.locator('#log li[data-type="click"]').count()).toBe(1);

    const shot = process.env.TASTEMAKER_SCREENSHOT;
    if (shot) await page.screenshot({ path: shot, fullPage: true });
    expect(browserLog.filter((line) => /^(pageerror|requestfailed|http|console\.error)/.test(line))).toEqual([]);
  });
});

/**
 * The client bundle the page loads, in `outDir`: a copy of packages/client/dist when it is at least
 * as new as the sources (CI builds it in `npm ci`), else a fresh ESM build, so a stale dist never
 * hides a change to the client. A copy, because a concurrent `npm run build` empties dist first.
 */
async function freshClientDist(outDir: string): Promise<string> {
  const built = await stat(join(CLIENT_DIST, 'index.js')).catch(() => undefined);
  if (built && built.mtimeMs >= (await newestMtime(CLIENT_SRC))) {
    const copied = await cp(CLIENT_DIST, outDir, { recursive: true }).then(
      () => true,
      () => false,
    );
    if (copied && existsSync(join(outDir, 'index.js'))) return outDir;
    await rm(outDir, { recursive: true, force: true });
  }
  const { build } = await import('tsup');
  try {
    await build({
      config: false,
      entry: { index: join(CLIENT_SRC, 'index.ts') },
      outDir,
      format: ['esm'],
      platform: 'browser',
      target: 'es2020',
      dts: false,
      sourcemap: false,
      silent: true,
      tsconfig: join(REPO, 'tsconfig.build.json'),
    });
  } catch (error) {
    throw new Error(`packages/client/dist is ${built ? 'older than its sources' : 'missing'} and building the client failed; run \`npm run build\`. ${String(error)}`);
  }
  return outDir;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name.endsWith('.test.ts')) continue;
    newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}
