// Debian's Chromium, headless, for the browser tests (run.mjs) and the page-load
// benchmark (load_time.mjs): every request is checked, and any that would leave the pages
// (anything but file:, data:, blob: and the given local origins) is refused and recorded.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export async function launch(origin) {
  const origins = [].concat(origin || []); // one origin, several, or none
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
    if (/^(file|data|blob):/.test(url) || origins.some((o) => url.startsWith(o + '/'))) return route.continue();
    outside.push(url);
    return route.abort();
  });
  const close = async () => {
    await context.close();
    fs.rmSync(profileDir, { recursive: true, force: true });
  };
  return { context, outside, close };
}

// Console errors and uncaught exceptions of one page.
export function watch(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  return errors;
}
