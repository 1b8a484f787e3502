// The official @uploadcare/file-uploader (installed from npm into
// e2e/node_modules, served from a loopback static server, never from a CDN)
// pointed at Satchel with base-url/cdn-cname: an upload in the regular,
// minimal and inline modes, and the cloud image editor with crop, rotate, a
// tuning and a named filter. Every page is checked for console errors and
// for requests leaving loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SATCHEL, PUB, here, launch, guard, shot, serve, png, rest } from './uploader-helpers.mjs';

const WEB = join(here, 'node_modules', '@uploadcare', 'file-uploader', 'web');
let browser;
let site;

function pageHTML(mode) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${mode}</title>
<link rel="stylesheet" href="/fu/uc-file-uploader-${mode}.min.css">
<script type="module">
import * as UC from '/fu/file-uploader.min.js';
UC.defineComponents(UC);
const ctx = document.querySelector('uc-upload-ctx-provider');
window.results = [];
window.failures = [];
window.last = null;
ctx.addEventListener('file-upload-success', (e) => window.results.push({ uuid: e.detail.uuid, cdnUrl: e.detail.cdnUrl }));
ctx.addEventListener('file-upload-failed', (e) => window.failures.push(String(e.detail.errors && e.detail.errors.map((x) => x.message))));
ctx.addEventListener('change', (e) => {
  const f = e.detail.allEntries.find((x) => x.isSuccess);
  if (f) window.last = { cdnUrl: f.cdnUrl, modifiers: f.cdnUrlModifiers };
});
</script></head><body>
<uc-config ctx-name="t" pubkey="${PUB}" base-url="${SATCHEL}" cdn-cname="${SATCHEL}" quality-insights="false"
  source-list="local, url" multiple="true"></uc-config>
<uc-file-uploader-${mode} ctx-name="t"></uc-file-uploader-${mode}>
<uc-upload-ctx-provider ctx-name="t"></uc-upload-ctx-provider>
</body></html>`;
}

before(async () => {
  browser = await launch();
  site = await serve(async (req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname.startsWith('/fu/')) {
      const name = u.pathname.slice(4);
      if (!/^[\w.-]+$/.test(name)) { res.writeHead(404); return res.end(); }
      try {
        const body = await readFile(join(WEB, name));
        res.writeHead(200, { 'Content-Type': name.endsWith('.css') ? 'text/css' : 'text/javascript' });
        return res.end(body);
      } catch {
        res.writeHead(404);
        return res.end();
      }
    }
    const mode = u.pathname.slice(1);
    if (!['regular', 'minimal', 'inline'].includes(mode)) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(pageHTML(mode));
  });
});

after(async () => {
  await browser?.close();
  await site?.close();
});

async function open(mode) {
  const page = await browser.ctx.newPage();
  const problems = await guard(page);
  const bad = [];
  page.on('response', (r) => {
    if (r.status() >= 400) bad.push(`${r.status()} ${r.request().method()} ${r.url()}`);
  });
  await page.goto(`${site.url}/${mode}`);
  await page.waitForFunction(() => customElements.get('uc-upload-ctx-provider'));
  return { page, problems, bad };
}

async function uploaded(page, n = 1) {
  await page.waitForFunction((want) => window.results.length >= want || window.failures.length > 0, n, { timeout: 30000 });
  const failures = await page.evaluate(() => window.failures);
  assert.deepEqual(failures, []);
  const results = await page.evaluate(() => window.results);
  for (const r of results) {
    assert.ok(r.cdnUrl.startsWith(SATCHEL + '/'), r.cdnUrl);
    const info = await rest(`/files/${r.uuid}/`);
    assert.equal(info.uuid, r.uuid);
  }
  return results;
}

async function fetchImage(url) {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  assert.match(r.headers.get('content-type'), /^image\//, url);
  return Buffer.from(await r.arrayBuffer());
}

test('regular mode: upload through the modal, then the image editor', async () => {
  const { page, problems, bad } = await open('regular');
  await page.getByText('Upload files').first().click();
  const chooser = page.waitForEvent('filechooser');
  await page.getByText('From device').first().click();
  await (await chooser).setFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png(300, 200) });
  const [res] = await uploaded(page);
  await page.getByText('1 file uploaded').waitFor();
  await page.waitForTimeout(1000);
  await shot(page, 'official-regular-uploaded');

  // The cloud image editor: every preview it asks for must load.
  await page.getByRole('button', { name: 'Edit' }).first().click();
  await page.locator('button[aria-label="Apply rotate operation"]').waitFor();
  await page.waitForTimeout(500);
  await shot(page, 'official-editor-open');
  await page.locator('button[aria-label="Apply rotate operation"]').click();
  // Crop: drag the top-left corner of the crop frame inwards.
  await page.waitForTimeout(400);
  await dragCropCorner(page);
  await shot(page, 'official-editor-cropped');

  // Tuning: brightness.
  await page.locator('button[aria-label="Tuning"]').click();
  await page.locator('button[aria-label*="rightness" i]:visible').first().click();
  await setSlider(page, 40);
  await shot(page, 'official-editor-brightness');
  await page.locator('uc-editor-slider ~ * button:visible, uc-editor-toolbar button:visible').filter({ hasText: /^\s*Apply\s*$/ }).last().click();

  // A named filter.
  await page.locator('button[aria-label="Filters"]').click();
  await page.locator('button[aria-label*="adaris" i]:visible').first().click();
  await page.waitForTimeout(300);
  await page.locator('button[aria-label*="adaris" i]:visible').first().click().catch(() => {});
  await setSlider(page, 70);
  await page.waitForTimeout(800);
  await shot(page, 'official-editor-filter');
  await page.locator('uc-editor-slider ~ * button:visible, uc-editor-toolbar button:visible').filter({ hasText: /^\s*Apply\s*$/ }).last().click();
  await page.waitForTimeout(300);

  // Apply the edit: the file's CDN URL now carries the operations.
  await page.locator('button[aria-label="Apply"]:visible').first().click();
  await page.waitForFunction(() => window.last && window.last.modifiers);
  const last = await page.evaluate(() => window.last);
  assert.ok(last.cdnUrl.startsWith(`${SATCHEL}/${res.uuid}/-/`), last.cdnUrl);
  for (const op of ['crop/', 'rotate/', 'brightness/', 'filter/adaris/']) {
    assert.ok(last.modifiers.includes(op), `${op} in ${last.modifiers}`);
  }
  await fetchImage(last.cdnUrl);
  await page.waitForTimeout(500);
  await shot(page, 'official-editor-applied');
  assert.deepEqual(bad, []);
  assert.deepEqual(problems, []);
  await page.close();
});

// dragCropCorner drags the cropper's top-left handle towards the centre.
async function dragCropCorner(page) {
  // The frame's corner handles are "uc-thumb" groups; the top-left one is
  // the one nearest the origin.
  const handle = await page.evaluate(() => {
    const c = document.querySelector('uc-editor-image-cropper');
    const el = c.querySelector('[data-testid="frame"], .uc-frame, svg');
    const r = (el || c).getBoundingClientRect();
    const thumbs = [...c.querySelectorAll('*')].filter((e) => /thumb|handle|corner/i.test(e.getAttribute('class') || ''));
    const t = thumbs.map((e) => e.getBoundingClientRect()).filter((b) => b.width > 0).sort((a, b) => a.x + a.y - b.x - b.y)[0];
    return t ? { x: t.x + t.width / 2, y: t.y + t.height / 2 } : { x: r.x, y: r.y };
  });
  // Grab the handle outside the frame (inside it, the frame itself moves).
  await page.mouse.move(handle.x - 10, handle.y - 10);
  await page.mouse.down();
  await page.mouse.move(handle.x + 20, handle.y + 20, { steps: 8 });
  await page.mouse.move(handle.x + 60, handle.y + 70, { steps: 8 });
  await page.mouse.up();
  await page.waitForTimeout(500);
}

// setSlider moves the editor's slider (an <input type=range>) to v.
async function setSlider(page, v) {
  const range = page.locator('uc-editor-slider input[type="range"]').first();
  await range.waitFor();
  await range.evaluate((el, value) => {
    el.value = String(value);
    el.dispatchEvent(new Event('input', { bubbles: true }));
    el.dispatchEvent(new Event('change', { bubbles: true }));
  }, v);
}

test('minimal mode: upload', async () => {
  const { page, problems, bad } = await open('minimal');
  // With two sources, the drop area opens the source list.
  await page.locator('uc-file-uploader-minimal uc-drop-area:visible').first().click();
  const chooser = page.waitForEvent('filechooser');
  await page.locator('button[aria-label="From device"]:visible').first().click();
  await (await chooser).setFiles([
    { name: 'a.png', mimeType: 'image/png', buffer: png(50, 50) },
    { name: 'b.txt', mimeType: 'text/plain', buffer: Buffer.from('minimal mode\n') },
  ]);
  const results = await uploaded(page, 2);
  assert.equal(results.length, 2);
  await page.waitForTimeout(800);
  await shot(page, 'official-minimal');
  assert.deepEqual(bad, []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('inline mode: upload and edit', async () => {
  const { page, problems, bad } = await open('inline');
  const chooser = page.waitForEvent('filechooser');
  await page.getByText('From device').first().click();
  await (await chooser).setFiles({ name: 'inline.png', mimeType: 'image/png', buffer: png(160, 120) });
  const [res] = await uploaded(page);
  await page.getByText('1 file uploaded').waitFor();
  await page.waitForTimeout(1000);
  await shot(page, 'official-inline');
  await page.getByRole('button', { name: 'Edit' }).first().click();
  await page.locator('button[aria-label="Apply rotate operation"]').click();
  await page.locator('button[aria-label="Filters"]').click();
  await page.locator('button[aria-label*="carris" i]:visible').first().click();
  await page.waitForTimeout(800);
  await page.locator('button[aria-label="Apply"]:visible').first().click();
  await page.waitForFunction(() => window.last && window.last.modifiers);
  const last = await page.evaluate(() => window.last);
  assert.ok(last.modifiers.includes('rotate/') && last.modifiers.includes('filter/carris/'), last.modifiers);
  assert.ok(last.cdnUrl.startsWith(`${SATCHEL}/${res.uuid}/-/`), last.cdnUrl);
  await fetchImage(last.cdnUrl);
  await shot(page, 'official-inline-edited');
  assert.deepEqual(bad, []);
  assert.deepEqual(problems, []);
  await page.close();
});
