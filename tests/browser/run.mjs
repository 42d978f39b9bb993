// Browser tests of gargalo's outputs, in headless Chromium (Debian's /usr/bin/chromium):
//   1. the speedscope JSON validates against speedscope's own file-format schema;
//   2. the real speedscope app (node_modules/speedscope) opens it, and the pprof and
//      folded files, and lists the functions;
//   3. the HTML page works offline: no page or console error, no request leaving the
//      page, the functions and shares on screen with their sample counts and margins
//      (checked against the session itself), the hot path open down to its leaf, search,
//      the grouping toggle, the timeline, the flame graph (hover, zoom by click, breadcrumb
//      and keyboard, search highlighting and matched share, the grouping toggle), the
//      marker track (positions, hover, keyboard), the SQL statements (figures and call
//      sites against the session, sorting, highlighting a statement's samples) and a
//      process-wide session's threads (a root per thread in the tree and the flame graph,
//      idle threads folded by wait call or shown in full, a timeline lane per thread or one
//      thread's stacks and markers) and the "Waiting on" table of blocked samples (rows
//      against the session, highlighting a descriptor's samples);
//   4. the page of profiles of a real bolsa (BUILD/bolsa, started here with slow-request
//      capture): no script error, no request leaving it, its profiles listed newest first,
//      an HTML profile opening from it (under its own sandboxed policy), a download, and
//      a whole-process profile asked from its form;
//   5. screenshots into BUILD/test-logs/ for a look (with --docs, the page of profiles
//      also into docs/profiles-page.png, the README's).
// Profiles come from BUILD/progs/render_profile: the synthetic session of the unit tests
// (known content), its process-wide variant (two threads, labels, markers: speedscope
// gets a profile per thread and one of markers), one with unequal sample weights, one
// with several SQL statements, one of six threads, one blocked in system calls, a big
// synthetic one and a real recording.
//
//   node tests/browser/run.mjs --build build
// Ends with "N passed, N failed"; exits non-zero on any failure.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Ajv from 'ajv';
import { launch, watch } from './chromium.mjs';

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

// A session whose samples weigh differently, as gargalo JSON: main calls fast (60
// samples of 1 ms), medium (30 of 2 ms) and slow (10 of 6 ms), so each has a third of the
// time but not a third of the samples. Shares are by time; margins must come from counts.
function writeWeighted(file) {
  const frame = (fn, line) => ({ function: fn, file: '/src/app/w.c', line, module: 'app',
    offset: `0x${(line * 16).toString(16)}`, library: false, inlined: false });
  const samples = [];
  let t = 0;
  for (const [stack, count, ms] of [[0, 60, 1], [1, 30, 2], [2, 10, 6]])
    for (let k = 0; k < count; k++) samples.push([(t += ms * 1e6), ms * 1e6, stack]);
  const session = { gargalo: 1, clock: 'wall', start_unix_ns: 0, duration_ns: t, cpu_ns: t,
    symbolize_ns: 0, dropped: 0, tid: 1, thread: 'weighted',
    frames: [frame('main', 1), frame('fast', 2), frame('medium', 3), frame('slow', 4)],
    stacks: [[0, 1], [0, 2], [0, 3]], samples };
  fs.writeFileSync(file, JSON.stringify(session));
}

// A session with three SQL statements inside a request, as gargalo JSON: SELECT a runs 5
// times for 3 ms, UPDATE b once for 20 ms, INSERT c 10 times for 1 ms; each sample
// taken while one runs is in its caller (run_select, ...) under sqlite3_step.
function writeStatements(file) {
  const frame = (fn, line, lib) => ({ function: fn, file: lib ? null : '/src/app/db.c', line: lib ? 0 : line,
    module: lib ? 'libsqlite3.so.0' : 'app', offset: `0x${(line * 16).toString(16)}`, library: !!lib, inlined: false });
  const frames = [frame('main', 1), frame('run_select', 10), frame('run_update', 20), frame('run_insert', 30),
    frame('sqlite3_step', 40, true)];
  const stacks = [[0], [0, 1, 4], [0, 2, 4], [0, 3, 4]];
  const markers = [[0, 100e6, 0, 'request', 'POST /statements']];
  for (let k = 0; k < 5; k++) markers.push([k * 10e6, (k * 10 + 3) * 1e6, 0, 'sql', 'SELECT a FROM t WHERE id = ?']);
  markers.push([50e6, 70e6, 0, 'sql', 'UPDATE b SET x = ?']);
  for (let k = 0; k < 10; k++) markers.push([(75 + 2 * k) * 1e6, (76 + 2 * k) * 1e6, 0, 'sql', 'INSERT INTO c VALUES (?)']);
  const samples = [];
  for (let t = 1; t <= 100; t++) {
    const m = markers.slice(1).findIndex(([a, b]) => a <= t * 1e6 && t * 1e6 < b);
    const stack = m < 0 ? 0 : m < 5 ? 1 : m === 5 ? 2 : 3;
    samples.push([t * 1e6, 1e6, stack, 0, -1]);
  }
  const session = { gargalo: 1, clock: 'wall', start_unix_ns: 0, duration_ns: 100e6, cpu_ns: 100e6,
    symbolize_ns: 0, dropped: 0, markers_dropped: 0, tid: 1, thread: 'app', threads: [[1, 'app', 100e6]],
    frames, stacks, samples, markers };
  fs.writeFileSync(file, JSON.stringify(session));
}

// A process-wide session of six threads, as gargalo JSON: worker-1 (60 ms of CPU) and
// worker-2 (30 ms) serve, with a marker each; two MHD-worker threads and a listener sit in
// epoll_wait and upkeep in pthread_cond_wait for the whole session. Every thread is sampled
// at each 1 ms tick while it has samples left.
const THREADS = [[101, 'worker-1', 60e6, [[3, 30], [4, 20]]], [102, 'worker-2', 30e6, [[3, 15], [5, 10]]],
  [103, 'MHD-worker', 0, [[6, 40]]], [104, 'MHD-worker', 0, [[6, 40]]], [105, 'listener', 0, [[7, 40]]],
  [106, 'upkeep', 0, [[8, 40]]]];
function writeThreads(file) {
  const frame = (fn, lib, mod) => ({ function: fn, file: lib ? null : '/src/app/srv.c', line: lib ? 0 : 10,
    module: lib ? mod : 'app', offset: '0x10', library: !!lib, inlined: false });
  const frames = [frame('main'), frame('serve'), frame('handle'), frame('parse'),
    frame('sqlite3_step', true, 'libsqlite3.so.0'), frame('render'), frame('start'),
    frame('epoll_wait', true, 'libc.so.6'), frame('listen'), frame('pthread_cond_wait', true, 'libc.so.6')];
  const stacks = [[0, 1, 2, 3], [0, 1, 2, 4], [0, 1, 5], [6, 7], [8, 7], [6, 9]];
  const left = THREADS.map(([, , , specs]) => specs.map(([st, n]) => [st - 3, n]));
  const samples = [];
  for (let tick = 1; left.some((l) => l.some(([, n]) => n > 0)); tick++)
    left.forEach((specs, th) => {
      const spec = specs.find(([, n]) => n > 0);
      if (!spec) return;
      spec[1]--;
      samples.push([tick * 1e6 + th * 1e4, 1e6, spec[0], th, -1]);
    });
  const session = { gargalo: 1, clock: 'wall', scope: 'process', start_unix_ns: 0, duration_ns: 51e6,
    cpu_ns: 90e6, symbolize_ns: 0, dropped: 0, markers_dropped: 0, tid: 101, thread: 'worker-1',
    threads: THREADS.map(([tid, name, cpu]) => [tid, name, cpu]), frames, stacks, samples,
    markers: [[5e6, 30e6, 0, 'request', 'GET /a'], [10e6, 20e6, 1, 'sql', 'SELECT 1']] };
  fs.writeFileSync(file, JSON.stringify(session));
}

// ---- what the session itself says, computed from its gargalo JSON without any tree ----

function loadSession(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'profile.json'), 'utf8'));
}

// Of the samples for which within(frames) holds, those for which pred(frames) holds: k of
// n, their share of the time (by weight, as the page shows it) and the margin the page
// must show, one binomial standard error from the counts, both with one decimal.
function sessionShare(session, pred, within = () => true) {
  let k = 0, n = 0, w = 0, all = 0;
  for (const [, weight, stack] of session.samples) {
    const frames = session.stacks[stack].map((f) => session.frames[f]);
    if (!within(frames)) continue;
    n++;
    all += weight;
    if (pred(frames)) { k++; w += weight; }
  }
  const p = n ? k / n : 0;
  return { k, n, pct: (all ? 100 * w / all : 0).toFixed(1), margin: (100 * Math.sqrt(p * (1 - p) / n)).toFixed(1) };
}

// The SQL statements as the page must show them, from the session's markers and samples
// alone: per text, executions, total time, the samples taken while one ran (same thread,
// start <= time < end) and, per function, how many of those had it as their innermost
// frame outside libraries.
function sessionStatements(session) {
  const out = new Map();
  for (const [start, end, thread, category, text] of session.markers) {
    if (category !== 'sql') continue;
    if (!out.has(text)) out.set(text, { text, count: 0, total: 0, covered: new Set(), sites: new Map() });
    const q = out.get(text);
    q.count++;
    q.total += end - start;
    session.samples.forEach(([t, , , th], i) => { if (th === thread && start <= t && t < end) q.covered.add(i); });
  }
  for (const q of out.values())
    for (const i of q.covered) {
      const frames = session.stacks[session.samples[i][2]].map((f) => session.frames[f]);
      const own = frames.filter((f) => !f.library), site = (own[own.length - 1] || frames[frames.length - 1]).function;
      q.sites.set(site, (q.sites.get(site) || 0) + 1);
    }
  return [...out.values()];
}

const calls = (name) => (frames) => frames.some((f) => f.function === name);
const callsMatching = (q) => (frames) => frames.some((f) => (f.function || '').toLowerCase().includes(q));

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

// ---- 1. schema ----

function validateSchema(file) {
  const schema = JSON.parse(fs.readFileSync(path.join(speedscopeDir, 'file-format-schema.json'), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert(validate(doc), ajv.errorsText(validate.errors));
  // The sampled profiles (one, or one per thread) come first, then the evented ones.
  assert(doc.profiles[0].type === 'sampled', `first profile is ${doc.profiles[0].type}`);
  const n = doc.shared.frames.length;
  const sampled = doc.profiles.findIndex((p) => p.type !== 'sampled');
  const cut = sampled < 0 ? doc.profiles.length : sampled;
  for (const p of doc.profiles.slice(0, cut)) {
    assert(p.samples.length === p.weights.length, `${p.name}: samples and weights differ in length`);
    assert(p.samples.every((s) => s.every((i) => Number.isInteger(i) && i >= 0 && i < n)), 'frame index out of range');
  }
  for (const e of doc.profiles.slice(cut)) checkEvents(e, n);
}

// An evented profile as speedscope's importer takes it: events in time order, each close
// naming the frame on top of the stack of open ones, nothing left open.
function checkEvents(p, nframes) {
  assert(p.type === 'evented', `profile ${p.name} is ${p.type}`);
  const open = [];
  let last = p.startValue;
  for (const e of p.events) {
    assert(e.at >= last && e.at <= p.endValue, `${p.name}: event at ${e.at} out of order`);
    assert(Number.isInteger(e.frame) && e.frame >= 0 && e.frame < nframes, `${p.name}: frame ${e.frame}`);
    if (e.type === 'O') open.push(e.frame);
    else assert(open.pop() === e.frame, `${p.name}: closes ${e.frame} at ${e.at}, not on top`);
    last = e.at;
  }
  assert(open.length === 0, `${p.name}: ${open.length} frames left open`);
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

// A process-wide session's speedscope file: one profile per thread, the busiest shown
// first, 'n' going to the next, each with its own functions.
async function speedscopeThreads(context, origin, rel) {
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(`${origin}/speedscope/index.html#profileURL=${encodeURIComponent(`${origin}/profiles/${rel}`)}`);
  await page.waitForSelector('canvas', { timeout: TIMEOUT });
  const shows = (t) => page.waitForFunction((s) => document.body.innerText.includes(s), t, { timeout: TIMEOUT });
  await shows('worker (4242) (1/3)');
  await page.keyboard.press('3');
  await page.getByText('handle_request', { exact: false }).first().waitFor({ timeout: TIMEOUT });
  await page.screenshot({ path: path.join(logs, 'speedscope-threads-worker.png') });
  await page.keyboard.press('n');
  await shows('idle (4343) (2/3)');
  await page.getByText('epoll_wait', { exact: false }).first().waitFor({ timeout: TIMEOUT });
  const idle = await page.evaluate(() => document.body.innerText);
  assert(!idle.includes('handle_request'), 'the idle thread shows the worker\'s functions');
  await page.screenshot({ path: path.join(logs, 'speedscope-threads-idle.png') });
  assert(errors.length === 0, errors.join('; '));
  await page.close();
}

// The markers' evented profile, after the sampled ones: speedscope opens on the first
// sampled one, and "n" brings the next, until the one that names the kinds of marker.
async function speedscopeMarkers(context, origin, rel, title, kinds, shot) {
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(`${origin}/speedscope/index.html#profileURL=${encodeURIComponent(`${origin}/profiles/${rel}`)}`);
  await page.waitForSelector('canvas', { timeout: TIMEOUT });
  await page.waitForFunction((t) => document.body.innerText.includes(t), title, { timeout: TIMEOUT });
  const onMarkers = () => page.evaluate(() => /\bmarkers\b/.test(document.body.innerText));
  for (let i = 0; i < 8 && !(await onMarkers()); i++) {
    await page.keyboard.press('n');
    await page.waitForTimeout(100);
  }
  await page.waitForFunction(() => /\bmarkers\b/.test(document.body.innerText), null, { timeout: TIMEOUT });
  await page.screenshot({ path: path.join(logs, `${shot}-flamegraph.png`) });
  await page.keyboard.press('3');
  for (const name of kinds) await page.getByText(name, { exact: false }).first().waitFor({ timeout: TIMEOUT });
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

async function canvasInk(page, id = '#timeline') {
  return page.$eval(id, (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]) n++;
    return { n, w: c.width, h: c.height };
  });
}

// The sample count and margin shown on the tree row of each named function, against
// what the session says for the samples passing through that function.
async function checkMargins(page, session, names) {
  const shown = await page.$$eval('#tree .row', (els) => els.map((e) => [e.querySelector('.name').textContent,
    e.querySelector('.pct').textContent, e.querySelector('.err').textContent, e.querySelector('.count').textContent]));
  for (const name of names) {
    const row = shown.find((r) => r[0] === name), want = sessionShare(session, calls(name));
    assert(row, `${name} not visible: ${JSON.stringify(shown)}`);
    const expect = [name, `${want.pct}%`, `±${want.margin}`, `${want.k} sample${want.k === 1 ? '' : 's'}`];
    assert(JSON.stringify(row) === JSON.stringify(expect), `${JSON.stringify(row)}, expected ${JSON.stringify(expect)}`);
  }
}

async function htmlSynthetic(context, dir) {
  const session = loadSession(dir);
  const { page, errors, ms } = await openPage(context, path.join(dir, 'profile.html'));
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
  await check('html: each row shows its sample count and the margin of its share', async () => {
    await checkMargins(page, session, ['main', 'handle_request', 'my_callback', 'parse_json']);
    const err = await page.$eval('#tree .row[data-i="2"] .err', (e) => e.title);
    assert(/standard error.*sample counts/.test(err), `margin's tooltip: ${err}`);
    const help = await page.textContent('#help');
    assert(/standard error/.test(help) && /counts/.test(help), `help: ${help}`);
  });
  await page.screenshot({ path: path.join(logs, 'html-synthetic.png'), fullPage: true });
  await check('html: search filters and highlights, with the matched share', async () => {
    const want = sessionShare(session, callsMatching('parse'));
    await page.fill('#search', 'PARSE');
    await page.waitForFunction((t) => document.querySelector('#search-count').textContent === t,
      `1 match · ${want.pct}% ±${want.margin} of the time`, { timeout: TIMEOUT });
    const r = await rows(page);
    assert(r.length === 2 && r[0][0] === 'main' && r[1][0] === 'parse_json', JSON.stringify(r));
    const marked = await page.$$eval('#tree .row.match .name', (els) => els.map((e) => e.textContent));
    assert(marked.length === 1 && marked[0] === 'parse_json', `marked ${marked}`);
    await page.screenshot({ path: path.join(logs, 'html-search.png') });
    // Matches under matches (sqlite3_step under handle_request): each sample counts once.
    const nested = sessionShare(session, callsMatching('e'));
    await page.fill('#search', 'E');
    await page.waitForFunction((t) => document.querySelector('#search-count').textContent === t,
      `4 matches · ${nested.pct}% ±${nested.margin} of the time`, { timeout: TIMEOUT });
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelector('#search-count').textContent === '');
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
    await page.mouse.move(0, 0);
    const box = await page.locator('#timeline').boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + 20 + 8); // first lane: main
    const tip = await page.textContent('#tooltip');
    const main = sessionShare(session, calls('main'));
    assert(tip.startsWith('main') && tip.includes(`${main.pct}% ±${main.margin}`), `tooltip: ${tip}`);
    await page.mouse.move(0, 0);
  });
  await check('html: without markers or blocked samples, no marker track, and SQL and waits tables that say why', async () => {
    const note = await page.textContent('#sql-note');
    assert(note.includes('No SQL statements were marked'), note);
    assert(await page.isHidden('#sql-table'), 'table shown');
    const waits = await page.textContent('#waits-note');
    assert(waits.includes('No sample found its thread blocked'), waits);
    assert(await page.isHidden('#waits-table'), 'waits table shown');
    const info = await page.textContent('#timeline-info');
    assert(!info.includes('marker'), `timeline hint: ${info}`);
  });
  await check('html: no error after interaction', () => assert(errors.length === 0, errors.join('; ')));
  await page.close();
}

// ---- markers and SQL statements ----

const AXIS_H = 20, MK_ROW = 16; // the timeline's axis and marker rows, in CSS pixels

// The pixel [r, g, b, a] of the timeline canvas at (x, y) CSS pixels.
function timelinePixel(page, x, y) {
  return page.$eval('#timeline', (c, [x, y]) => {
    const dpr = c.width / c.clientWidth;
    return Array.from(c.getContext('2d').getImageData(Math.floor(x * dpr), Math.floor(y * dpr), 1, 1).data);
  }, [x, y]);
}

function pageData(page) {
  return page.evaluate(() => JSON.parse(document.getElementById('gg-data').textContent));
}

// Where time t is drawn, in CSS pixels, for a view from v0 to v1 (ns) across the canvas.
async function timeX(page, t, v0, v1) {
  const w = await page.$eval('#timeline', (c) => c.clientWidth);
  return (t - v0) / (v1 - v0) * w;
}

// Marker m of the page's data is drawn from its start to its end in row `row`: painted
// just inside both ends, nothing just outside.
async function checkMarkerDrawn(page, D, m, row, v0, v1) {
  const a = await timeX(page, D.markers.start[m], v0, v1), b = await timeX(page, D.markers.end[m], v0, v1);
  const y = AXIS_H + row * MK_ROW + MK_ROW - 3;
  const alpha = async (x) => (await timelinePixel(page, x, y))[3];
  assert(await alpha(a + 3) === 255 && await alpha(b - 3) === 255, `marker ${m} not painted from ${a} to ${b}`);
  assert(await alpha(a - 3) === 0 && await alpha(b + 3) === 0, `marker ${m} painted outside ${a}..${b}`);
}

async function timelineHover(page, x, y) {
  await page.locator('#timeline').scrollIntoViewIfNeeded();
  const box = await page.locator('#timeline').boundingBox();
  await page.mouse.move(box.x + x, box.y + y);
  return (await page.isHidden('#tooltip')) ? '' : page.textContent('#tooltip');
}

// The SQL table's rows as [statement, executions, total, share, mean, call sites].
function sqlRows(page) {
  return page.$$eval('#sql-body tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim())));
}

// What a row must read, from the session alone.
function expectedSqlRow(session, q) {
  const ms = (ns) => ((ns / 1e6) < 10 ? (ns / 1e6).toFixed(2) : (ns / 1e6).toFixed(1)) + ' ms';
  const plural = (k, w) => `${k} ${w}${k === 1 ? '' : 's'}`;
  const sites = [...q.sites.entries()].sort((a, b) => b[1] - a[1]);
  return { cells: [q.text, String(q.count), ms(q.total), `${(100 * q.total / session.duration_ns).toFixed(1)}%`,
    ms(q.total / q.count)], sites: sites.slice(0, 3).map(([fn, k]) => [fn, plural(k, 'sample')]),
  more: sites.length > 3 ? `${plural(sites.length - 3, 'more function')}, ${plural(sites.slice(3).reduce((a, s) => a + s[1], 0), 'sample')}` : '' };
}

function checkSqlRow(row, want) {
  assert(JSON.stringify(row.slice(0, 5)) === JSON.stringify(want.cells), `${JSON.stringify(row.slice(0, 5))}, expected ${JSON.stringify(want.cells)}`);
  const lines = row[5].split('\n');
  want.sites.forEach(([fn, n], i) => assert(lines[i].startsWith(fn) && lines[i].endsWith(n), `site ${i}: ${lines[i]}, expected ${fn} … ${n}`));
  if (want.more) assert(lines[want.sites.length] === want.more, `${lines[want.sites.length]}, expected ${want.more}`);
}

async function htmlMarkers(context, dir) {
  const session = loadSession(dir);
  const { page, errors, ms } = await openPage(context, path.join(dir, 'profile.html'));
  const D = await pageData(page);
  const v1 = Math.max(D.duration_ns, D.samples.t[D.samples.t.length - 1], ...D.markers.end);
  await check(`html (markers): loads without errors (${ms} ms)`, () => assert(errors.length === 0, errors.join('; ')));
  await check('html (markers): the track draws each marker where the samples of its time are', async () => {
    await checkMarkerDrawn(page, D, 0, 0, 0, v1); // the request, outermost
    await checkMarkerDrawn(page, D, 1, 1, 0, v1); // the statement inside it, a row below
    const laneTop = AXIS_H + 2 * MK_ROW + 6, x = await timeX(page, 30e6, 0, v1);
    const tip = await timelineHover(page, x, laneTop + 8);
    assert(tip.endsWith('worker (4242)'), `first sample lane under the track: ${tip}`);
  });
  await check('html (markers): hover gives the text, the duration and the thread', async () => {
    const x = await timeX(page, 35e6, 0, v1);
    const tip = await timelineHover(page, x, AXIS_H + MK_ROW + 8);
    for (const want of ['sql: INSERT INTO t VALUES (?)', '30.0 ms, from 20.0 ms to 50.0 ms', 'thread worker (4242)'])
      assert(tip.includes(want), `tooltip lacks ${want}: ${tip}`);
    assert((await timelineHover(page, x, AXIS_H + 8)).startsWith('request: POST /b'), 'row 0 is not the request');
    await page.mouse.move(0, 0);
  });
  await page.screenshot({ path: path.join(logs, 'html-markers.png'), fullPage: true });
  await check('html (markers): keyboard walks the markers, Enter zooms to one, Escape back', async () => {
    await page.focus('#timeline');
    const info = () => page.textContent('#timeline-info');
    assert((await info()).startsWith('request: POST /b — 50.0 ms, from 10.0 ms to 60.0 ms — thread worker (4242)'), await info());
    await page.keyboard.press('ArrowDown');
    assert((await info()).startsWith('sql: INSERT INTO t VALUES (?) — 30.0 ms'), await info());
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('Enter');
    await nextFrame(page);
    await checkMarkerDrawn(page, D, 0, 0, 5e6, 65e6); // a tenth of its length on each side
    await page.keyboard.press('Escape');
    await nextFrame(page);
    await checkMarkerDrawn(page, D, 0, 0, 0, v1);
  });
  await htmlSql(page, session, D, v1);
  await check('html (markers): no error after interaction', () => assert(errors.length === 0, errors.join('; ')));
  await page.close();
}

// The fixture's statement in the table, and what selecting it highlights.
async function htmlSql(page, session, D, v1) {
  const [q] = sessionStatements(session);
  await check('html (markers): the SQL table shows the statement, its figures and call sites', async () => {
    const r = await sqlRows(page);
    assert(r.length === 1, JSON.stringify(r));
    checkSqlRow(r[0], expectedSqlRow(session, q));
    const note = await page.textContent('#sql-note');
    assert(note.includes("over the session's duration (140.0 ms, wall clock)"), note);
  });
  const laneY = AXIS_H + 2 * MK_ROW + 6 + 8, inX = await timeX(page, 35e6, 0, v1), outX = await timeX(page, 80e6, 0, v1);
  const before = [await timelinePixel(page, inX, laneY), await timelinePixel(page, outX, laneY)];
  await check('html (markers): selecting the statement highlights its samples', async () => {
    await page.click('#sql-body .stmt button');
    await page.waitForSelector('#sql-selected:not([hidden])', { timeout: 5000 });
    const text = await page.textContent('#sql-selected-text');
    assert(text.includes(`${q.covered.size} samples`) && q.covered.size === D.sql[0].samples, text);
    assert(await page.getAttribute('#sql-body .stmt button', 'aria-pressed') === 'true', 'not pressed');
    await nextFrame(page);
    const after = [await timelinePixel(page, inX, laneY), await timelinePixel(page, outX, laneY)];
    assert(JSON.stringify(after[0]) === JSON.stringify(before[0]), `timeline inside changed: ${before[0]} -> ${after[0]}`);
    assert(JSON.stringify(after[1]) !== JSON.stringify(before[1]), `timeline outside not veiled: ${after[1]}`);
    // Flame graph: handle_request (row 3, under the worker's root and main, from the left)
    // is solid for its selected samples only.
    const n = session.samples.length, inHandle = [...q.covered].filter((i) =>
      session.stacks[session.samples[i][2]].some((f) => session.frames[f].function === 'handle_request')).length;
    const solid = await flamePixel(page, inHandle / n / 2, 3), faded = await flamePixel(page, inHandle / n + 0.1, 3);
    assert(solid[3] === 255 && faded[3] < 128, `handle_request: ${solid} then ${faded}`);
    const flameSel = await page.textContent('#flame-sel');
    assert(flameSel.includes(`${q.covered.size} samples`), flameSel);
  });
  await page.locator('#sql-section').screenshot({ path: path.join(logs, 'html-sql.png') });
  await page.screenshot({ path: path.join(logs, 'html-sql-selected.png'), fullPage: true });
  await check('html (markers): Escape and Clear end the highlighting', async () => {
    await page.focus('#sql-body .stmt button');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#sql-selected[hidden]', { state: 'attached', timeout: 5000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('#sql-selected:not([hidden])', { timeout: 5000 });
    await page.click('#sql-clear');
    await page.waitForSelector('#sql-selected[hidden]', { state: 'attached', timeout: 5000 });
    await nextFrame(page);
    assert(JSON.stringify(await timelinePixel(page, outX, laneY)) === JSON.stringify(before[1]), 'veil left');
  });
}

// Several statements: figures against the session, sorting by each column, each
// statement's highlighted samples.
async function htmlStatements(context, dir) {
  const session = loadSession(dir), want = sessionStatements(session);
  const { page, errors } = await openPage(context, path.join(dir, 'profile.html'));
  const order = async () => (await sqlRows(page)).map((r) => r[0].split(' ')[0]);
  const sortBy = async (label, expect, sort) => {
    await page.click(`#sql-table th button:text-is("${label}")`);
    const got = await order();
    assert(JSON.stringify(got) === JSON.stringify(expect), `by ${label}: ${got}, expected ${expect}`);
    const aria = await page.getAttribute(`#sql-table th:has(button:text-is("${label}"))`, 'aria-sort');
    assert(aria === sort, `${label}: aria-sort ${aria}`);
  };
  await check('html (statements): each row agrees with the session', async () => {
    assert(errors.length === 0, errors.join('; '));
    const r = await sqlRows(page);
    assert(JSON.stringify(await order()) === '["UPDATE","SELECT","INSERT"]', `by total: ${await order()}`);
    for (const row of r) checkSqlRow(row, expectedSqlRow(session, want.find((q) => q.text === row[0])));
  });
  await check('html (statements): sorted by any column, either way', async () => {
    await sortBy('Executions', ['INSERT', 'SELECT', 'UPDATE'], 'descending');
    await sortBy('Executions', ['UPDATE', 'SELECT', 'INSERT'], 'ascending');
    await sortBy('Statement', ['INSERT', 'SELECT', 'UPDATE'], 'ascending');
    await sortBy('Mean', ['UPDATE', 'SELECT', 'INSERT'], 'descending');
    await sortBy('Total time', ['UPDATE', 'SELECT', 'INSERT'], 'descending');
  });
  await check('html (statements): each statement highlights the samples taken while it ran', async () => {
    for (const q of want) {
      await page.click(`#sql-body tr:has-text("${q.text}") .stmt button`);
      const text = await page.textContent('#sql-selected-text');
      assert(text.includes(`${q.covered.size} samples`), `${q.text}: ${text}`);
    }
    await page.click('#sql-clear');
  });
  await page.screenshot({ path: path.join(logs, 'html-statements.png'), fullPage: true });
  await page.close();
}

// ---- threads ----

// The call tree's rows under the root, as [name, time, share, location].
function rootRows(page) {
  return page.$$eval('#tree .row[aria-level="1"]', (els) => els.map((e) => [e.querySelector('.name').textContent,
    e.querySelector('.time').textContent, e.querySelector('.pct').textContent, e.querySelector('.loc').textContent]));
}

// Per thread index, the session's time and share of all (one decimal, as the page shows).
function threadShares(session) {
  const all = session.samples.reduce((a, s) => a + s[1], 0), ns = new Map();
  for (const [, w, , th] of session.samples) ns.set(th, (ns.get(th) || 0) + w);
  return (ths) => {
    const t = ths.reduce((a, th) => a + (ns.get(th) || 0), 0);
    return [`${(t / 1e6).toFixed(t < 10e6 ? 2 : 1)} ms`, `${(100 * t / all).toFixed(1)}%`];
  };
}

async function htmlThreads(context, dir) {
  const session = loadSession(dir), shares = threadShares(session);
  const { page, errors, ms } = await openPage(context, path.join(dir, 'profile.html'));
  const D = await pageData(page);
  const v1 = Math.max(D.duration_ns, ...D.samples.t, ...D.markers.end);
  await check(`html (threads): loads without errors (${ms} ms), a root per thread, busiest first, idle ones folded`, async () => {
    assert(errors.length === 0, errors.join('; '));
    const h = (await page.textContent('header')).replace(/\s+/g, '');
    assert(h.includes('Threads6') && !h.includes('Threadworker'), `header: ${h}`);
    const want = [['worker-1 (101)', ...shares([0]), 'CPU 60.0 ms'], ['worker-2 (102)', ...shares([1]), 'CPU 30.0 ms'],
      ['3 idle threads: parked in epoll_wait (MHD-worker ×2, listener)', ...shares([2, 3, 4]), ''],
      ['1 idle thread: parked in pthread_cond_wait (upkeep)', ...shares([5]), '']];
    const got = await rootRows(page);
    assert(JSON.stringify(got) === JSON.stringify(want), `${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
    const r = await rows(page);
    assert(findRow(r, 'parse') && !findRow(r, 'epoll_wait [libc.so.6]'), `rows: ${JSON.stringify(r)}`);
  });
  await check('html (threads): the flame graph has the same roots, as wide as their time', async () => {
    const n = session.samples.length;
    for (const [fx, name] of [[25 / n, 'worker-1 (101)'], [62 / n, 'worker-2 (102)'],
      [135 / n, '3 idle threads: parked in epoll_wait'], [215 / n, '1 idle thread: parked in pthread_cond_wait']]) {
      const tip = await flameHover(page, fx, 1);
      assert(tip.startsWith(name), `row 1 at ${fx.toFixed(3)}: ${tip}, expected ${name}`);
    }
    assert((await flameHover(page, 25 / n, 2)).startsWith('main'), 'main not under worker-1');
    assert(await flameHover(page, 135 / n, 2) === '', 'something under the idle group');
  });
  await page.screenshot({ path: path.join(logs, 'html-threads.png'), fullPage: true });
  await check('html (threads): the timeline has a lane per thread, each with its own samples', async () => {
    const opts = await page.$$eval('#timeline-thread option', (els) => els.map((e) => e.textContent));
    assert(opts.length === 5 && opts[1] === 'worker-1 (101)' && opts[4].startsWith('1 idle thread'), JSON.stringify(opts));
    const laneTop = AXIS_H + 2 * MK_ROW + 6;
    const at = async (t, lane) => timelineHover(page, await timeX(page, t, 0, v1) , laneTop + lane * 16 + 8);
    const w1 = await at(10.5e6, 0), w2 = await at(20.5e6, 1), idle = await at(30.5e6, 2), upkeep = await at(30.5e6, 3);
    assert(/^(parse|sqlite3_step)/.test(w1) && w1.endsWith('worker-1 (101)'), `lane 0: ${w1}`);
    assert(/^(parse|render)/.test(w2) && w2.endsWith('worker-2 (102)'), `lane 1: ${w2}`);
    assert(idle.startsWith('3 idle threads'), `lane 2: ${idle}`);
    assert(upkeep.startsWith('1 idle thread: parked in pthread_cond_wait'), `lane 3: ${upkeep}`);
    assert(await at(45e6, 1) === '', 'worker-2 has samples after its last');
    await page.mouse.move(0, 0);
  });
  await check('html (threads): picking a thread shows its stacks, and only its markers', async () => {
    await page.selectOption('#timeline-thread', 't1');
    await nextFrame(page);
    const laneTop = AXIS_H + MK_ROW + 6;
    const at = async (t, y) => timelineHover(page, await timeX(page, t, 0, v1), y);
    assert((await at(15e6, AXIS_H + 8)).startsWith('sql: SELECT 1'), 'the statement is not the first marker row');
    assert(await at(27e6, AXIS_H + 8) === '', 'worker-1\'s request drawn for worker-2');
    const lanes = [];
    for (let d = 0; d < 4; d++) lanes.push((await at(5.5e6, laneTop + d * 16 + 8)).split(/\d/)[0]);
    assert(JSON.stringify(lanes) === JSON.stringify(['worker-', 'main', 'serve', 'handle']), JSON.stringify(lanes));
    await page.locator('#timeline-section').screenshot({ path: path.join(logs, 'html-threads-picked.png') });
    await page.mouse.move(0, 0);
  });
  await check('html (threads): show all frames shows the idle threads in full; a pick follows its thread', async () => {
    await page.check('#show-all');
    const got = (await rootRows(page)).map((r) => [r[0], r[3]]);
    const want = [['worker-1 (101)', 'CPU 60.0 ms'], ['worker-2 (102)', 'CPU 30.0 ms'],
      ['MHD-worker (103)', 'idle: parked in epoll_wait'], ['MHD-worker (104)', 'idle: parked in epoll_wait'],
      ['listener (105)', 'idle: parked in epoll_wait'], ['upkeep (106)', 'idle: parked in pthread_cond_wait']];
    assert(JSON.stringify(got) === JSON.stringify(want), JSON.stringify(got));
    assert(await page.inputValue('#timeline-thread') === 't1', 'worker-2 no longer picked');
    await page.selectOption('#timeline-thread', 't4');
    await page.uncheck('#show-all');
    assert(await page.inputValue('#timeline-thread') === 'gepoll_wait', 'the listener\'s group not picked');
    await page.selectOption('#timeline-thread', 'all');
  });
  await check('html (threads): no error after interaction', () => assert(errors.length === 0, errors.join('; ')));
  await page.close();
}

// ---- what blocked threads waited on ----

// The descriptors blocked samples waited on, from the session alone: the samples whose
// leaf reads "[blocked] CALL fd N: WHAT" (or "[blocked] CALL"), per fd and description (per
// call without one), most time first, each with its calls, most time first.
function sessionWaits(session) {
  const out = new Map();
  session.samples.forEach(([, w, stack], i) => {
    const ids = session.stacks[stack], leaf = ids.length ? session.frames[ids[ids.length - 1]].function : '';
    const m = /^\[blocked\] (.+?)(?: fd (\d+): (.*))?$/s.exec(leaf || '');
    if (!m) return;
    const key = m[2] !== undefined ? `${m[2]} ${m[3]}` : `- ${m[1]}`;
    if (!out.has(key)) out.set(key, { fd: m[2], what: m[3], ns: 0, samples: new Set(), calls: new Map() });
    const q = out.get(key);
    q.ns += w;
    q.samples.add(i);
    q.calls.set(m[1], (q.calls.get(m[1]) || 0) + w);
  });
  return [...out.values()].sort((a, b) => b.ns - a.ns);
}

async function htmlWaits(context, dir) {
  const session = loadSession(dir), want = sessionWaits(session);
  const { page, errors, ms } = await openPage(context, path.join(dir, 'profile.html'));
  const n = session.samples.length, all = session.samples.reduce((a, s) => a + s[1], 0);
  const fmt = (ns) => ((ns / 1e6) < 10 ? (ns / 1e6).toFixed(2) : (ns / 1e6).toFixed(1)) + ' ms';
  await check(`html (blocked): loads without errors (${ms} ms); a row per descriptor agrees with the session`, async () => {
    assert(errors.length === 0, errors.join('; '));
    const got = await page.$$eval('#waits-body tr', (trs) => trs.map((tr) => [...tr.cells].map((td) => td.innerText.trim())));
    const expect = want.map((q) => {
      const p = q.samples.size / n, margin = (100 * Math.sqrt(p * (1 - p) / n)).toFixed(1);
      const calls = [...q.calls.entries()].sort((a, b) => b[1] - a[1]).map(([c, ns]) => `${c} ${fmt(ns)}`).join(', ');
      return [q.fd !== undefined ? `fd ${q.fd} ${q.what}` : 'no descriptor', calls, fmt(q.ns),
        `${(100 * q.ns / all).toFixed(1)}% ±${margin}`, String(q.samples.size)];
    });
    assert(want.length === 5, `the session has ${want.length} descriptors`);
    assert(JSON.stringify(got) === JSON.stringify(expect), `${JSON.stringify(got)}, expected ${JSON.stringify(expect)}`);
  });
  await check('html (blocked): selecting a descriptor highlights the samples blocked on it', async () => {
    for (const [r, q] of want.entries()) {
      await page.click(`#waits-body tr[data-row="${r}"] .what button`);
      await page.waitForSelector('#waits-selected:not([hidden])', { timeout: 5000 });
      const text = await page.textContent('#waits-selected-text');
      assert(text.includes(`${q.samples.size} sample${q.samples.size === 1 ? '' : 's'}, ${fmt(q.ns)}`), `row ${r}: ${text}`);
      assert(await page.getAttribute(`#waits-body tr[data-row="${r}"] .what button`, 'aria-pressed') === 'true', 'not pressed');
      assert((await page.textContent('#flame-sel')).includes(`${q.samples.size} sample`), 'flame graph line');
    }
    // The first row, fd 7, is the leaves under sqlite3_step (row 3, from the left): solid
    // there, faded elsewhere.
    await page.click('#waits-body tr[data-row="0"] .what button');
    await nextFrame(page);
    const solid = await flamePixel(page, 0.1, 4), faded = await flamePixel(page, 0.5, 4);
    assert(solid[3] === 255 && faded[3] < 128, `under sqlite3_step: ${solid}, elsewhere: ${faded}`);
  });
  await page.locator('#waits-section').screenshot({ path: path.join(logs, 'html-waits.png') });
  await page.screenshot({ path: path.join(logs, 'html-waits-selected.png'), fullPage: true });
  await check('html (blocked): Escape and Clear end the highlighting; a statement is not shown as selected', async () => {
    await page.focus('#waits-body tr[data-row="0"] .what button');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#waits-selected[hidden]', { state: 'attached', timeout: 5000 });
    await page.keyboard.press('Enter');
    await page.waitForSelector('#waits-selected:not([hidden])', { timeout: 5000 });
    assert(await page.isHidden('#sql-selected'), 'the SQL line shows');
    await page.click('#waits-clear');
    await page.waitForSelector('#waits-selected[hidden]', { state: 'attached', timeout: 5000 });
    assert(await page.textContent('#flame-sel') === '', 'flame graph line left');
  });
  await check('html (blocked): no error after interaction', () => assert(errors.length === 0, errors.join('; ')));
  await page.close();
}

// ---- the flame graph ----

const FG_ROW = 18; // the page's row height in the flame graph, in CSS pixels

// Rows of the synthetic profile's flame graph, grouped: 0 all samples, 1 main, 2
// handle_request (0-70%) and parse_json (70-95%), 3 sqlite3_step (0-70%) and memcpy
// (70-85%), 4 my_callback (0-20%).

// Moves the pointer to a point of the flame graph (fx of its width, row r) and returns
// what the tooltip says there ('' when it is hidden).
async function flameHover(page, fx, r) {
  await page.locator('#flame').scrollIntoViewIfNeeded();
  const box = await page.locator('#flame').boundingBox();
  await page.mouse.move(box.x + box.width * fx, box.y + r * FG_ROW + FG_ROW / 2);
  return (await page.isHidden('#tooltip')) ? '' : page.textContent('#tooltip');
}

async function flameClick(page, fx, r) {
  await page.locator('#flame').scrollIntoViewIfNeeded();
  const box = await page.locator('#flame').boundingBox();
  await page.mouse.click(box.x + box.width * fx, box.y + r * FG_ROW + FG_ROW / 2);
}

// The canvas pixel [r, g, b, a] at fx of the width, near the bottom of row r (below
// the labels).
function flamePixel(page, fx, r) {
  return page.$eval('#flame', (c, [fx, r, rowH]) => {
    const dpr = c.width / c.clientWidth;
    const x = Math.floor(c.width * fx), y = Math.floor((r * rowH + rowH - 3) * dpr);
    return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data);
  }, [fx, r, FG_ROW]);
}

// Resolves once the page has drawn what it was asked to draw (draws wait for a frame).
function nextFrame(page) {
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
}

const crumbs = (page) => page.$$eval('#flame-crumbs button', (els) => els.map((e) => e.textContent));

// Waits until the breadcrumb reads `want` (draws happen on the next frame).
async function waitCrumbs(page, want) {
  try {
    await page.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('#flame-crumbs button')]
      .map((e) => e.textContent)) === w, JSON.stringify(want), { timeout: 5000 });
  } catch {
    throw new Error(`breadcrumb ${JSON.stringify(await crumbs(page))}, expected ${JSON.stringify(want)}`);
  }
}

async function htmlFlame(context, dir) {
  const session = loadSession(dir);
  const { page, errors } = await openPage(context, path.join(dir, 'profile.html'));
  await check('html flame graph: drawn, one row per depth, at root zoom', async () => {
    const ink = await canvasInk(page, '#flame');
    assert(ink.n > 20000, JSON.stringify(ink));
    assert(JSON.stringify(await crumbs(page)) === '["all samples"]', `breadcrumb ${await crumbs(page)}`);
    assert(await page.isDisabled('#flame-reset'), 'reset enabled at the root');
    for (const [fx, r, name] of [[0.5, 0, 'all samples'], [0.5, 1, 'main'], [0.3, 2, 'handle_request'],
      [0.8, 2, 'parse_json'], [0.3, 3, 'sqlite3_step [libsqlite3.so.0] (+1 frame)'], [0.1, 4, 'my_callback']]) {
      const tip = await flameHover(page, fx, r);
      assert(tip.startsWith(name), `row ${r} at ${fx}: ${tip}, expected ${name}`);
    }
    assert(await flameHover(page, 0.5, 4) === '', 'something drawn right of my_callback');
    assert(await flameHover(page, 0.1, 5) === '', 'a sixth row');
  });
  await check('html flame graph: hover shows name, file:line, time, share ± margin, samples', async () => {
    const tip = await flameHover(page, 0.3, 2), want = sessionShare(session, calls('handle_request'));
    for (const s of ['handle_request', '/home/dev/app/src/server.c:40', '70.0 ms',
      `${want.pct}% ±${want.margin} of all`, `${want.k} samples of ${want.n}`, 'standard error'])
      assert(tip.includes(s), `tooltip lacks ${s}: ${tip}`);
  });
  await page.locator('#flame-section').screenshot({ path: path.join(logs, 'html-flame.png') });
  await check('html flame graph: a click zooms, the frame spans the width, reset returns', async () => {
    await flameClick(page, 0.3, 2);
    await waitCrumbs(page, ['all samples', 'main', 'handle_request']);
    assert(!(await page.isDisabled('#flame-reset')), 'reset disabled while zoomed');
    for (const fx of [0.003, 0.5, 0.997]) {
      const tip = await flameHover(page, fx, 2);
      assert(tip.startsWith('handle_request'), `zoomed row at ${fx}: ${tip}`);
    }
    // my_callback is 20 of handle_request's 70 ms: now 2/7 of the width.
    const cb = await flameHover(page, 0.27, 4);
    assert(cb.startsWith('my_callback') && cb.includes('28.6% of handle_request'), `my_callback: ${cb}`);
    assert(await flameHover(page, 0.31, 4) === '', 'my_callback wider than 2/7');
    assert(await flameHover(page, 0.9, 3) !== '', 'sqlite3_step not full width');
    await page.click('#flame-reset');
    await waitCrumbs(page, ['all samples']);
    assert((await flameHover(page, 0.8, 2)).startsWith('parse_json'), 'parse_json back in its place');
  });
  await check('html flame graph: the breadcrumb zooms back out, by mouse or keyboard', async () => {
    await flameClick(page, 0.1, 4);
    await waitCrumbs(page, ['all samples', 'main', 'handle_request', 'sqlite3_step [libsqlite3.so.0] (+1 frame)', 'my_callback']);
    await page.click('#flame-crumbs button:has-text("handle_request")');
    await waitCrumbs(page, ['all samples', 'main', 'handle_request']);
    await page.focus('#flame-crumbs button:has-text("main")');
    await page.keyboard.press('Enter');
    await waitCrumbs(page, ['all samples', 'main']);
    const focused = await page.evaluate(() => document.activeElement.textContent);
    assert(focused === 'main', `focus after zooming from the breadcrumb: ${focused}`);
    await page.focus('#flame-reset');
    await page.keyboard.press('Enter');
    await waitCrumbs(page, ['all samples']);
    const after = await page.evaluate(() => document.activeElement.id);
    assert(after === 'flame', `focus after reset from the keyboard: ${after}`);
  });
  await check('html flame graph: keyboard moves, zooms with Enter, out with Escape', async () => {
    await page.focus('#flame');
    const info = () => page.textContent('#flame-info');
    assert((await info()).startsWith('all samples'), `info: ${await info()}`);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert((await info()).startsWith('handle_request — /home/dev/app/src/server.c:40'), `info: ${await info()}`);
    await page.keyboard.press('ArrowRight');
    const parse = sessionShare(session, calls('parse_json'));
    assert((await info()).startsWith(`parse_json — /home/dev/app/src/parse.c:20 — 25.0 ms, ${parse.pct}% ±${parse.margin}`),
      `info: ${await info()}`);
    await page.keyboard.press('Enter');
    await waitCrumbs(page, ['all samples', 'main', 'parse_json']);
    await page.keyboard.press('Escape');
    await waitCrumbs(page, ['all samples', 'main']);
    await page.keyboard.press('Home');
    await waitCrumbs(page, ['all samples']);
  });
  await check('html flame graph: search highlights the matches and shows their share', async () => {
    const before = await flamePixel(page, 0.35, 2);
    assert(before[3] === 255, `handle_request not opaque: ${before}`);
    await page.fill('#search', 'Json');
    const want = sessionShare(session, callsMatching('json'));
    await page.waitForFunction((t) => document.querySelector('#search-count').textContent === t,
      `1 match · ${want.pct}% ±${want.margin} of the time`, { timeout: 5000 });
    await nextFrame(page);
    const hit = await flamePixel(page, 0.825, 2), other = await flamePixel(page, 0.35, 2);
    const close = (px, rgb) => rgb.every((v, i) => Math.abs(px[i] - v) <= 2) && px[3] === 255;
    assert(close(hit, [0xc7, 0x7d, 0xdb]), `parse_json not highlighted: ${hit}`);
    assert(other[3] < 128, `handle_request not faded: ${other}`);
  });
  await check('html flame graph: zoomed, the matched share is of the zoomed frame', async () => {
    await page.fill('#search', 'callback');
    const all = sessionShare(session, calls('my_callback'));
    await page.waitForFunction((t) => document.querySelector('#search-count').textContent === t,
      `1 match · ${all.pct}% ±${all.margin} of the time`, { timeout: 5000 });
    const want = sessionShare(session, calls('my_callback'), calls('handle_request'));
    await flameClick(page, 0.3, 2);
    await waitCrumbs(page, ['all samples', 'main', 'handle_request']);
    const text = await page.textContent('#flame-match');
    assert(text === `matches: ${want.pct}% ±${want.margin} of handle_request`, `matched: ${text}`);
    await page.fill('#search', '');
    await page.waitForFunction(() => document.querySelector('#search-count').textContent === '');
    await page.click('#flame-reset');
  });
  await check('html flame graph: follows "Show all frames", each tree keeping its zoom', async () => {
    await flameClick(page, 0.3, 2);
    await waitCrumbs(page, ['all samples', 'main', 'handle_request']);
    await page.check('#show-all');
    await waitCrumbs(page, ['all samples']);
    const tip = await flameHover(page, 0.3, 4);
    assert(tip.startsWith('sqlite3VdbeExec [libsqlite3.so.0]'), `row 4 with every frame: ${tip}`);
    assert((await flameHover(page, 0.1, 5)).startsWith('my_callback'), 'my_callback not on row 5');
    await page.uncheck('#show-all');
    await waitCrumbs(page, ['all samples', 'main', 'handle_request']);
    await page.click('#flame-reset');
  });
  await check('html flame graph: no error after interaction', () => assert(errors.length === 0, errors.join('; ')));
  await page.close();
}

// Shares by time, margins and counts by samples, where the two differ.
async function htmlWeighted(context, dir) {
  const session = loadSession(dir);
  const { page, errors } = await openPage(context, path.join(dir, 'profile.html'));
  await check('html (unequal weights): shares by time, margins from the sample counts', async () => {
    assert(errors.length === 0, errors.join('; '));
    await checkMargins(page, session, ['fast', 'medium', 'slow']);
    // By time each has a third; a margin from that third would be 4.7 for all three.
    const slow = sessionShare(session, calls('slow'));
    assert(slow.pct === '33.3' && slow.margin === '3.0' && slow.k === 10, JSON.stringify(slow));
    const tip = await flameHover(page, 0.9, 2);
    assert(tip.startsWith('slow') && tip.includes('33.3% ±3.0 of all') && tip.includes('10 samples of 100'), tip);
  });
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

// How fast this is, is for the benchmark (bench/run.py, case "page"); here it must work.
async function htmlBig(context, file) {
  const { page, errors, ms } = await openPage(context, file);
  const ready = await page.getAttribute('body', 'data-ready-ms');
  await check(`html (20000 samples): tree, flame graph and timeline drawn, without errors ` +
    `(ready ${ready} ms after navigation by the page's clock, ${ms} ms seen from here)`, async () => {
    assert(errors.length === 0, errors.join('; '));
    assert(Number(ready) > 0, `data-ready-ms ${ready}`);
    const rowCount = await page.$$eval('#tree .row', (els) => els.length);
    assert(rowCount > 20, `${rowCount} tree rows`);
    for (const id of ['#timeline', '#flame']) {
      const ink = await canvasInk(page, id);
      assert(ink.n > 1000, `${id}: ${JSON.stringify(ink)}`);
    }
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
    const f = await page.textContent('#flame-info');
    assert(f.includes('No samples were recorded.'), f);
  });
  await page.close();
}

// ---- 4. the page of profiles, against a real bolsa ----

// bolsa on a free loopback port, profiling enabled, capturing requests over 100 ms.
function startBolsa(dir) {
  fs.rmSync(dir, { recursive: true, force: true }); // the page must list this run's profiles only
  fs.mkdirSync(path.join(dir, 'profiles'), { recursive: true, mode: 0o700 });
  const proc = spawn(path.join(build, 'bolsa'), ['--host', '127.0.0.1', '--port', '0',
    '--database-url', 'sqlite:bolsa.db', '--profile', '1', '--profile-dir', 'profiles',
    '--profile-slow-ms', '100'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bolsa did not start: ${log}`)), 30000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (m) { clearTimeout(timer); resolve({ proc, origin: m[1] }); }
    });
    proc.on('exit', (code) => reject(new Error(`bolsa exited (${code}): ${log}`)));
  });
}

async function postRows(origin, n, query = '') {
  const r = await fetch(`${origin}/api/v1/transaction${query}`, { method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ ativos: ['PETR4', 'VALE3', 'ITAU4'], quantidadeAtivos: n }) });
  assert(r.status === 201, `POST ${query}: ${r.status}`);
  await r.arrayBuffer();
  return r.headers.get('x-profile-file');
}

// The page's rows as [time, request, status, duration, samples, captured, format].
function pageRows(page) {
  return page.$$eval('tbody tr', (trs) => trs.map((tr) => [...tr.cells].slice(0, 7).map((td) => td.innerText.trim())));
}

async function profilesPage(dir, docs) {
  const { proc, origin } = await startBolsa(dir);
  const { context, outside, close } = await launch(origin);
  try {
    await check('profiles page: bolsa writes two asked profiles and two slow ones', async () => {
      assert(await postRows(origin, 2000, '?profile=true'), 'no X-Profile-File');
      const r = await fetch(`${origin}/api/v1/transaction/summary?profile=true&profile_format=json`);
      assert(r.status === 200 && r.headers.get('x-profile-file'), `summary: ${r.status}`);
      await r.arrayBuffer();
      await postRows(origin, 20000, '?save_strategy=naive');
      await postRows(origin, 15000, '?save_strategy=naive');
    });
    const page = await context.newPage();
    const errors = watch(page);
    await page.goto(`${origin}/debug/gargalo/`);
    const rows = await pageRows(page);
    await check(`profiles page: lists them newest first, with what each is (${rows.length} rows)`, () => {
      const want = [['POST /api/v1/transaction', '201', 'slow', 'html'], ['POST /api/v1/transaction', '201', 'slow', 'html'],
        ['GET /api/v1/transaction/summary', '200', 'asked', 'json'], ['POST /api/v1/transaction', '201', 'asked', 'html']];
      assert(JSON.stringify(rows.map((r) => [r[1], r[2], r[5], r[6]])) === JSON.stringify(want), JSON.stringify(rows));
      assert(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/.test(rows[0][0]), rows[0][0]);
      assert(parseInt(rows[0][3], 10) >= 100 && parseInt(rows[0][4], 10) > 0, JSON.stringify(rows[0]));
      assert(rows.every((r, i) => i === 0 || rows[i - 1][0] >= r[0]), 'not newest first');
    });
    await check('profiles page: no script error, no style refused by its policy', () => assert(errors.length === 0, errors.join('; ')));
    const box = await page.locator('main').boundingBox(); // the page, not the empty viewport below it
    const shot = { clip: { x: 0, y: 0, width: 1280, height: Math.ceil(box.y + box.height + 8) } };
    await page.screenshot({ ...shot, path: path.join(logs, 'profiles-page.png') });
    if (docs) await page.screenshot({ ...shot, path: path.join(here, '../../docs/profiles-page.png') });
    await check('profiles page: a slow HTML profile opens from it, its script running in its sandbox', async () => {
      const [opened] = await Promise.all([page.waitForEvent('framenavigated'), page.click('tbody tr:first-child a:text-is("open")')]);
      assert(opened.url().startsWith(`${origin}/debug/gargalo/profiles/profile-`), opened.url());
      await page.waitForSelector('body[data-ready="1"]', { timeout: TIMEOUT });
      const tree = await page.textContent('#tree');
      assert(tree.includes('bolsa_post_transaction'), tree.slice(0, 300));
      assert(errors.length === 0, errors.join('; '));
      await page.screenshot({ path: path.join(logs, 'profiles-page-opened.png') });
      await page.goBack();
    });
    await check('profiles page: download gives the profile under its name', async () => {
      const name = (await page.getAttribute('tbody tr:nth-child(2) a:text-is("open")', 'href')).split('/').pop();
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('tbody tr:nth-child(2) a:text-is("download")')]);
      assert(download.suggestedFilename() === name, `${download.suggestedFilename()} for ${name}`);
    });
    await check('profiles page: its form downloads a whole-process profile', async () => {
      await page.fill('input[name="seconds"]', '1');
      await page.selectOption('select[name="format"]', 'json');
      const [download] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), page.click('form button')]);
      assert(/^gargalo-\d{8}T\d{6}Z\.json$/.test(download.suggestedFilename()), download.suggestedFilename());
      const session = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
      assert(session.scope === 'process' && session.threads.length > 1, JSON.stringify(session.threads));
    });
    await check('profiles page: no error after interaction, no request left it', () => {
      assert(errors.length === 0, errors.join('; '));
      assert(outside.length === 0, outside.join(', '));
    });
  } finally {
    await close();
    proc.kill('SIGTERM');
  }
}

// ---- main ----

async function main() {
  fs.mkdirSync(logs, { recursive: true });
  const dirs = { synthetic: path.join(work, 'synthetic'), real: path.join(work, 'real'), big: path.join(work, 'big'),
    empty: path.join(work, 'empty'), weighted: path.join(work, 'weighted'), rich: path.join(work, 'rich'),
    statements: path.join(work, 'statements'), threads: path.join(work, 'threads'),
    blocked: path.join(work, 'blocked') };
  await check('profiles generated', () => {
    makeProfiles(dirs.synthetic, []);
    fs.mkdirSync(dirs.weighted, { recursive: true });
    writeWeighted(path.join(dirs.weighted, 'session.json'));
    makeProfiles(dirs.weighted, ['--load', path.join(dirs.weighted, 'session.json')]);
    makeProfiles(dirs.rich, ['--rich']);
    fs.mkdirSync(dirs.statements, { recursive: true });
    writeStatements(path.join(dirs.statements, 'session.json'));
    makeProfiles(dirs.statements, ['--load', path.join(dirs.statements, 'session.json')]);
    fs.mkdirSync(dirs.threads, { recursive: true });
    writeThreads(path.join(dirs.threads, 'session.json'));
    makeProfiles(dirs.threads, ['--load', path.join(dirs.threads, 'session.json')]);
    makeProfiles(dirs.real, ['--real']);
    makeProfiles(dirs.big, ['--big', '20000']);
    makeProfiles(dirs.empty, ['--empty']);
    makeProfiles(dirs.blocked, ['--blocked']);
    makeProfiles(dirs.rich, ['--rich']);
  });
  for (const [name, dir] of Object.entries(dirs))
    await check(`speedscope schema (${name})`, () => validateSchema(path.join(dir, 'profile.speedscope.json')));

  const server = await serve({ speedscope: speedscopeDir, profiles: work });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const { context, outside, close } = await launch(origin);
  try {
    await check('speedscope app opens the synthetic profile', () =>
      speedscope(context, origin, 'synthetic/profile.speedscope.json',
        ['handle_request', 'sqlite3_step [libsqlite3.so.0]', 'my_callback', 'parse_json'], 'speedscope-synthetic'));
    await check('speedscope app opens the profile with markers: the samples, then the markers', () =>
      speedscopeMarkers(context, origin, 'rich/profile.speedscope.json', 'worker (4242)',
        ['request: POST /b', 'sql: INSERT INTO t VALUES (?)'], 'speedscope-markers'));
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
    await check('speedscope app opens a process-wide profile, one profile per thread', () =>
      speedscopeThreads(context, origin, 'rich/profile.speedscope.json'));
    await htmlSynthetic(context, dirs.synthetic);
    await htmlFlame(context, dirs.synthetic);
    await htmlWeighted(context, dirs.weighted);
    await htmlMarkers(context, dirs.rich);
    await htmlStatements(context, dirs.statements);
    await htmlThreads(context, dirs.threads);
    await htmlWaits(context, dirs.blocked);
    await htmlReal(context, path.join(dirs.real, 'profile.html'));
    await htmlBig(context, path.join(dirs.big, 'profile.html'));
    await htmlEmpty(context, path.join(dirs.empty, 'profile.html'));
    await check('no request left the pages', () => assert(outside.length === 0, outside.join(', ')));
  } finally {
    await close();
    server.close();
  }
  await profilesPage(path.join(work, 'bolsa'), process.argv.includes('--docs'));
}

main().catch((err) => {
  failed++;
  console.log(`FAIL  ${err.stack || err}`);
}).finally(() => {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
});
