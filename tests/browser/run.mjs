// Browser tests of gargalo's outputs, in headless Chromium (Debian's /usr/bin/chromium):
//   1. the speedscope JSON validates against speedscope's own file-format schema;
//   2. the real speedscope app (node_modules/speedscope) opens it, and the pprof and
//      folded files, and lists the functions;
//   3. the HTML page works offline: no page or console error, no request leaving the
//      page, the functions and shares on screen, the hot path open down to its leaf,
//      search, the grouping toggle, the timeline;
//   4. screenshots into BUILD/test-logs/ for a look.
// Profiles come from BUILD/progs/render_profile: the synthetic session of the unit tests
// (known content) and a real recording.
//
//   node tests/browser/run.mjs --build build
// Ends with "N passed, N failed"; exits non-zero on any failure.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Ajv from 'ajv';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildArg = process.argv.indexOf('--build');
const build = path.resolve(buildArg > 0 ? process.argv[buildArg + 1] : path.join(here, '../../build'));
const logs = path.join(build, 'test-logs');
const work = path.join(logs, 'browser');
const speedscopeDir = path.join(here, 'node_modules/speedscope/dist/release');
const TIMEOUT = 15000;

let passed = 0, failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok    ${name}`);
  } catch (err) {
    failed++;
    console.log(`FAIL  ${name}: ${err && err.message ? err.message.split('\n')[0] : err}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// ---- profiles ----

function makeProfiles(dir, extra) {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(path.join(build, 'progs/render_profile'), [...extra, dir], { stdio: 'inherit', timeout: 60000 });
}

// ---- a tiny static server on 127.0.0.1: speedscope and the profiles ----

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.png': 'image/png', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.wasm': 'application/wasm', '.txt': 'text/plain' };

function serve(roots) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const [, root, ...rest] = decodeURIComponent(url.pathname).split('/');
    const base = roots[root];
    const file = base && path.join(base, rest.join('/') || 'index.html');
    if (!file || !file.startsWith(base) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ---- the browser, with every request checked ----

async function launch(origin) {
  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gargalo-chromium-'));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const outside = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (/^(file|data|blob):/.test(url) || url.startsWith(origin + '/')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  return { context, outside, profileDir };
}

// Console errors and uncaught exceptions of one page.
function watch(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return errors;
}

// ---- 1. schema ----

function validateSchema(file) {
  const schema = JSON.parse(fs.readFileSync(path.join(speedscopeDir, 'file-format-schema.json'), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert(validate(doc), ajv.errorsText(validate.errors));
  const p = doc.profiles[0];
  assert(p.samples.length === p.weights.length, 'samples and weights differ in length');
  const n = doc.shared.frames.length;
  assert(p.samples.every((s) => s.every((i) => Number.isInteger(i) && i >= 0 && i < n)), 'frame index out of range');
}

// ---- 2. speedscope ----

// Opens profiles/REL in the speedscope app; the page must show the profile's name (the
// title for gargalo's JSON, the file name for formats without one) and the functions.
async function speedscope(context, origin, rel, names, shot, title = 'render_profile') {
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(`${origin}/speedscope/index.html#profileURL=${encodeURIComponent(`${origin}/profiles/${rel}`)}`);
  await page.waitForSelector('canvas', { timeout: TIMEOUT });
  await page.waitForFunction((t) => document.body.innerText.includes(t), title, { timeout: TIMEOUT });
  await page.screenshot({ path: path.join(logs, `${shot}-flamegraph.png`) });
  await page.keyboard.press('3'); // the sandwich view: a table of functions, in the DOM
  for (const name of names)
    await page.getByText(name, { exact: false }).first().waitFor({ timeout: TIMEOUT });
  await page.screenshot({ path: path.join(logs, `${shot}-sandwich.png`) });
  assert(errors.length === 0, errors.join('; '));
  await page.close();
}

// ---- 3. the HTML page ----

async function openPage(context, file) {
  const page = await context.newPage();
  const errors = watch(page);
  const t0 = Date.now();
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: TIMEOUT });
  return { page, errors, ms: Date.now() - t0 };
}

// The visible rows of the call tree as [name, time, share].
function rows(page) {
  return page.$$eval('#tree .row', (els) => els.filter((e) => e.offsetParent !== null).map((e) => [
    e.querySelector('.name').textContent, e.querySelector('.time').textContent,
    e.querySelector('.pct').textContent]));
}

function findRow(list, name) {
  return list.find((r) => r[0] === name);
}

async function canvasInk(page) {
  return page.$eval('#timeline', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return { n, w: c.width, h: c.height };
  });
}

async function htmlSynthetic(context, file) {
  const { page, errors, ms } = await openPage(context, file);
  await check(`html: loads without errors (${ms} ms)`, () => assert(errors.length === 0, errors.join('; ')));
  await check('html: header shows title, duration, samples, CPU, clock', async () => {
    const h = await page.textContent('header');
    for (const s of ['render_profile <test>', '100.5 ms', 'Samples100', 'CPU50.0%', 'Clockwall'])
      assert(h.replace(/\s+/g, '').includes(s.replace(/\s+/g, '')), `header lacks ${s}: ${h}`);
  });
  await check('html: hot path open down to its leaf, with times and shares', async () => {
    const r = await rows(page);
    const want = [['main', '100.0 ms', '100.0%'], ['handle_request', '70.0 ms', '70.0%'],
      ['sqlite3_step [libsqlite3.so.0] (+1 frame)', '70.0 ms', '70.0%'], ['my_callback', '20.0 ms', '20.0%']];
    for (const [name, time, pct] of want) {
      const row = findRow(r, name);
      assert(row, `${name} not visible; rows: ${JSON.stringify(r)}`);
      assert(row[1] === time && row[2] === pct, `${name}: ${row}`);
    }
    const hot = await page.$$eval('#tree .row.hotpath .name', (els) => els.map((e) => e.textContent));
    assert(JSON.stringify(hot) === JSON.stringify(want.map((w) => w[0])), `hot path ${hot}`);
    assert(findRow(r, 'parse_json') && findRow(r, 'app+0x1234'), 'siblings of the hot path missing');
    assert(!findRow(r, 'sqlite3VdbeExec [libsqlite3.so.0]'), 'library frames not grouped');
    const loc = await page.$eval('#tree .row[data-i="1"] .loc', (e) => e.textContent);
    assert(loc === 'src/main.c:10', `main location ${loc}`);
  });
  await page.screenshot({ path: path.join(logs, 'html-synthetic.png'), fullPage: true });
  await check('html: search filters and highlights', async () => {
    await page.fill('#search', 'PARSE');
    await page.waitForFunction(() => document.querySelector('#search-count').textContent === '1 match');
    const r = await rows(page);
    assert(r.length === 2 && r[0][0] === 'main' && r[1][0] === 'parse_json', JSON.stringify(r));
    const marked = await page.$$eval('#tree .row.match .name', (els) => els.map((e) => e.textContent));
    assert(marked.length === 1 && marked[0] === 'parse_json', `marked ${marked}`);
    await page.screenshot({ path: path.join(logs, 'html-search.png') });
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelectorAll('#tree .row').length > 2);
  });
  await check('html: show all frames reveals the library run', async () => {
    await page.check('#show-all');
    const r = await rows(page);
    assert(findRow(r, 'sqlite3VdbeExec [libsqlite3.so.0]'), JSON.stringify(r));
    assert(findRow(r, 'sqlite3_step [libsqlite3.so.0]'), JSON.stringify(r));
    assert(findRow(r, 'my_callback'), 'callback hidden');
    await page.uncheck('#show-all');
  });
  await check('html: clicking a row collapses and expands it', async () => {
    await page.click('#tree .row[data-i="1"]');
    let r = await rows(page);
    assert(r.length === 1 && r[0][0] === 'main', JSON.stringify(r));
    await page.click('#tree .row[data-i="1"]');
    r = await rows(page);
    assert(findRow(r, 'handle_request'), JSON.stringify(r));
  });
  await check('html: timeline draws the samples and explains them on hover', async () => {
    const ink = await canvasInk(page);
    assert(ink.w > 0 && ink.h > 40 && ink.n > 5000, JSON.stringify(ink));
    await page.locator('#timeline').scrollIntoViewIfNeeded();
    const box = await page.locator('#timeline').boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + 20 + 8); // first lane: main
    const tip = await page.textContent('#tooltip');
    assert(tip.startsWith('main'), `tooltip: ${tip}`);
    await page.mouse.move(0, 0);
  });
  await check('html: no error after interaction', () => assert(errors.length === 0, errors.join('; ')));
  await page.close();
}

async function htmlReal(context, file) {
  const { page, errors, ms } = await openPage(context, file);
  await check(`html (real profile): loads without errors (${ms} ms)`, () => assert(errors.length === 0, errors.join('; ')));
  await check('html (real profile): hot path open to the leaf', async () => {
    const r = await rows(page);
    const hot = await page.$$eval('#tree .row.hotpath .name', (els) => els.map((e) => e.textContent));
    assert(hot.length >= 3, `hot path ${hot}`);
    for (const name of ['main', 'workload']) assert(findRow(r, name), `${name} missing: ${JSON.stringify(r)}`);
    const leaf = await page.$$eval('#tree .row.hotpath .tog', (els) => els[els.length - 1].textContent);
    assert(leaf === '', `hot path ends at a node with children (${leaf})`);
    assert(r.some((x) => x[0].includes('qsort')), 'qsort missing');
  });
  await page.screenshot({ path: path.join(logs, 'html-real.png'), fullPage: true });
  await page.close();
}

async function htmlBig(context, file) {
  const { page, errors, ms } = await openPage(context, file);
  await check(`html (20000 samples): opens in ${ms} ms without errors`, async () => {
    assert(errors.length === 0, errors.join('; '));
    assert(ms < 10000, 'too slow');
    const ink = await canvasInk(page);
    assert(ink.n > 1000, JSON.stringify(ink));
  });
  await page.screenshot({ path: path.join(logs, 'html-big.png') });
  await page.close();
}

async function htmlEmpty(context, file) {
  const { page, errors } = await openPage(context, file);
  await check('html (no samples): says so, without errors', async () => {
    assert(errors.length === 0, errors.join('; '));
    const t = await page.textContent('#tree');
    assert(t.includes('No samples were recorded.'), t);
  });
  await page.close();
}

// ---- main ----

async function main() {
  fs.mkdirSync(logs, { recursive: true });
  const dirs = { synthetic: path.join(work, 'synthetic'), real: path.join(work, 'real'), big: path.join(work, 'big'),
    empty: path.join(work, 'empty') };
  await check('profiles generated', () => {
    makeProfiles(dirs.synthetic, []);
    makeProfiles(dirs.real, ['--real']);
    makeProfiles(dirs.big, ['--big', '20000']);
    makeProfiles(dirs.empty, ['--empty']);
  });
  for (const [name, dir] of Object.entries(dirs))
    await check(`speedscope schema (${name})`, () => validateSchema(path.join(dir, 'profile.speedscope.json')));

  const server = await serve({ speedscope: speedscopeDir, profiles: work });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { context, outside, profileDir } = await launch(origin);
  try {
    await check('speedscope app opens the synthetic profile', () =>
      speedscope(context, origin, 'synthetic/profile.speedscope.json',
        ['handle_request', 'sqlite3_step [libsqlite3.so.0]', 'my_callback', 'parse_json'], 'speedscope-synthetic'));
    await check('speedscope app opens the real profile', () =>
      speedscope(context, origin, 'real/profile.speedscope.json', ['workload', 'compare_keys'], 'speedscope-real'));
    // speedscope's pprof importer keeps a location's last line only, the real frame:
    // parse_json, inlined into main, shows as main there.
    await check('speedscope app opens the synthetic pprof profile', () =>
      speedscope(context, origin, 'synthetic/profile.pb.gz',
        ['handle_request', 'sqlite3VdbeExec', 'my_callback', 'memcpy', 'app+0x1234'], 'pprof-synthetic',
        'profile.pb.gz'));
    await check('speedscope app opens the real pprof profile', () =>
      speedscope(context, origin, 'real/profile.pb.gz', ['workload', 'compare_keys', 'checksum'], 'pprof-real',
        'profile.pb.gz'));
    await check('speedscope app opens the synthetic folded stacks', () =>
      speedscope(context, origin, 'synthetic/profile.folded',
        ['handle_request', 'sqlite3_step [libsqlite3.so.0]', 'my_callback', 'parse_json'], 'folded-synthetic',
        'profile.folded'));
    await check('speedscope app opens the real folded stacks', () =>
      speedscope(context, origin, 'real/profile.folded', ['workload', 'compare_keys'], 'folded-real', 'profile.folded'));
    await htmlSynthetic(context, path.join(dirs.synthetic, 'profile.html'));
    await htmlReal(context, path.join(dirs.real, 'profile.html'));
    await htmlBig(context, path.join(dirs.big, 'profile.html'));
    await htmlEmpty(context, path.join(dirs.empty, 'profile.html'));
    await check('no request left the pages', () => assert(outside.length === 0, outside.join(', ')));
  } finally {
    await context.close();
    server.close();
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  failed++;
  console.log(`FAIL  ${err.stack || err}`);
}).finally(() => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
