// How long gargalo's HTML pages take to become usable in headless Chromium, for the
// benchmark (bench/run.py, case "page"): each page is opened REPEAT times in a fresh tab,
// after one untimed opening of the first page (a browser's first tab pays for starting
// up, which is not the page's cost); the figure is the page's own clock (performance.now(),
// from the start of navigation) when its call tree, flame graph and timeline are drawn and
// painted, which the page records in <body data-ready-ms>.
//
//   node tests/browser/load_time.mjs [--repeat N] PAGE.html...
//
// Prints one JSON object: {"pages": [{"file", "ready_ms": [...], "median_ms"}]}. Exits 1
// when a page does not become ready, reports a script error or asks for anything outside.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch, watch } from './chromium.mjs';

const TIMEOUT = 30000;

function parseArgs(argv) {
  const out = { repeat: 5, files: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--repeat') out.repeat = Number(argv[++i]);
    else out.files.push(path.resolve(argv[i]));
  }
  if (!out.files.length || !(out.repeat >= 1)) throw new Error('usage: load_time.mjs [--repeat N] PAGE.html...');
  return out;
}

async function readyMs(context, file) {
  const page = await context.newPage();
  const errors = watch(page);
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('body[data-ready="1"]', { timeout: TIMEOUT });
  const ms = Number(await page.getAttribute('body', 'data-ready-ms'));
  await page.close();
  if (errors.length) throw new Error(`${file}: ${errors.join('; ')}`);
  if (!(ms > 0)) throw new Error(`${file}: no data-ready-ms`);
  return ms;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { context, outside, close } = await launch(null);
  try {
    await readyMs(context, args.files[0]);
    const pages = [];
    for (const file of args.files) {
      const ready = [];
      for (let r = 0; r < args.repeat; r++) ready.push(await readyMs(context, file));
      pages.push({ file, ready_ms: ready, median_ms: median(ready) });
    }
    if (outside.length) throw new Error(`requests left the page: ${outside.join(', ')}`);
    console.log(JSON.stringify({ pages }));
  } finally {
    await close();
  }
}

main().catch((err) => {
  console.error(`load_time: ${err.message || err}`);
  process.exit(1);
});
