// Satchel's own upload page (GET /) and its <satchel-uploader> element in
// headless Chromium: chooser, drag and drop, paste, from URL, a 30 MB
// multipart upload, cancel and retry. Every page is checked for console
// errors and for requests leaving loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { SATCHEL, PUB, launch, guard, shot, serve, png, rest } from './uploader-helpers.mjs';

let browser;
let origin; // a loopback server the from-URL upload downloads from
const originFile = png(120, 80, [10, 120, 200]);

before(async () => {
  browser = await launch();
  origin = await serve((req, res) => {
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': originFile.length });
    res.end(originFile);
  });
});

after(async () => {
  await browser?.close();
  await origin?.close();
});

async function openPage() {
  const page = await browser.ctx.newPage();
  const problems = await guard(page);
  const resp = await page.goto(`${SATCHEL}/?pub_key=${PUB}`);
  assert.equal(resp.status(), 200);
  await page.locator('satchel-uploader .drop').waitFor();
  return { page, problems };
}

const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Waits for n finished items and returns their CDN links. */
async function doneLinks(page, n, timeout = 60000) {
  const done = page.locator('satchel-uploader li[data-state="done"]');
  await page.waitForFunction((want) => {
    const up = document.querySelector('satchel-uploader');
    return up.shadowRoot.querySelectorAll('li[data-state="done"]').length >= want;
  }, n, { timeout });
  const errors = await page.locator('satchel-uploader li[data-state="error"] .error').allTextContents();
  assert.deepEqual(errors, []);
  return done.locator('a.link').evaluateAll((as) => as.map((a) => a.href));
}

async function fetchBytes(url) {
  const r = await fetch(url);
  assert.equal(r.status, 200, url);
  return Buffer.from(await r.arrayBuffer());
}

test('the page is served from Satchel itself with a strict CSP', async () => {
  const r = await fetch(`${SATCHEL}/`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-security-policy'), /default-src 'none'/);
  const html = await r.text();
  assert.doesNotMatch(html, /https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i, 'no external asset');
  const js = await fetch(`${SATCHEL}/uploader/uploader.js`);
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('access-control-allow-origin'), '*');
});

test('chooser: several files, progress, CDN links', async () => {
  const { page, problems } = await openPage();
  const a = png(64, 48);
  const b = Buffer.from('hello from the chooser\n');
  await page.locator('satchel-uploader input[type="file"]').setInputFiles([
    { name: 'picture.png', mimeType: 'image/png', buffer: a },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: b },
  ]);
  const links = await doneLinks(page, 2);
  assert.equal(links.length, 2);
  const bodies = await Promise.all(links.map(fetchBytes));
  assert.deepEqual(bodies.map(sha).sort(), [sha(a), sha(b)].sort());
  // The image got a thumbnail from the CDN.
  await page.waitForFunction(() => {
    const img = document.querySelector('satchel-uploader').shadowRoot.querySelector('img.thumb');
    return img && img.complete && img.naturalWidth > 0;
  });
  await shot(page, 'uploader-chooser');
  assert.deepEqual(problems, []);
  await page.close();
});

test('keyboard: Enter on the drop zone opens the file chooser', async () => {
  const { page, problems } = await openPage();
  const chooser = page.waitForEvent('filechooser');
  await page.locator('satchel-uploader .drop').press('Enter');
  await (await chooser).setFiles({ name: 'keyboard.txt', mimeType: 'text/plain', buffer: Buffer.from('typed') });
  const [link] = await doneLinks(page, 1);
  assert.equal((await fetchBytes(link)).toString(), 'typed');
  assert.deepEqual(problems, []);
  await page.close();
});

test('drag and drop', async () => {
  const { page, problems } = await openPage();
  await page.evaluate(() => {
    const drop = document.querySelector('satchel-uploader').shadowRoot.querySelector('.drop');
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      drop.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  });
  const [link] = await doneLinks(page, 1);
  assert.equal((await fetchBytes(link)).toString(), 'dropped bytes');
  await shot(page, 'uploader-drop');
  assert.deepEqual(problems, []);
  await page.close();
});

test('paste', async () => {
  const { page, problems } = await openPage();
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['pasted bytes'], 'pasted.txt', { type: 'text/plain' }));
    document.body.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
  });
  const [link] = await doneLinks(page, 1);
  assert.equal((await fetchBytes(link)).toString(), 'pasted bytes');
  assert.deepEqual(problems, []);
  await page.close();
});

test('from URL', async () => {
  const { page, problems } = await openPage();
  await page.locator('satchel-uploader input[type="url"]').fill(`${origin.url}/remote.png`);
  await page.locator('satchel-uploader .url-button').click();
  const [link] = await doneLinks(page, 1);
  assert.equal(sha(await fetchBytes(link)), sha(originFile));
  assert.match(await page.locator('satchel-uploader li[data-state="done"] .name').textContent(), /remote\.png/);
  await shot(page, 'uploader-from-url');
  assert.deepEqual(problems, []);
  await page.close();
});

test('30 MB multipart upload', async () => {
  const { page, problems } = await openPage();
  const big = randomBytes(30 * 1000 * 1000);
  const calls = [];
  page.on('request', (r) => {
    const p = new URL(r.url()).pathname;
    if (r.method() !== 'OPTIONS') calls.push(`${r.method()} ${p.replace(/[0-9a-f-]{36}/, 'UUID')}`);
  });
  let sawProgress = false;
  page.on('console', () => {});
  await page.locator('satchel-uploader input[type="file"]').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: big });
  // A progress bar shows while the parts travel.
  await page.locator('satchel-uploader progress').waitFor({ timeout: 10000 }).then(() => { sawProgress = true; }, () => {});
  const [link] = await doneLinks(page, 1, 120000);
  assert.ok(calls.includes('POST /multipart/start/'), calls.join('\n'));
  assert.equal(calls.filter((c) => c === 'PUT /multipart/part/UUID/').length, Math.ceil(big.length / 5242880));
  assert.ok(calls.includes('POST /multipart/complete/'));
  assert.ok(!calls.includes('POST /base/'));
  assert.ok(sawProgress, 'progress bar shown');
  const uuid = link.match(/[0-9a-f-]{36}/)[0];
  const info = await rest(`/files/${uuid}/`);
  assert.equal(info.size, big.length);
  assert.equal(sha(await fetchBytes(link)), sha(big));
  await shot(page, 'uploader-multipart');
  assert.deepEqual(problems, []);
  await page.close();
});

test('cancel, then retry', async () => {
  const { page, problems } = await openPage();
  // Hold the part PUTs so that the upload is still running when cancelled.
  let hold = true;
  let held = 0;
  await page.route('**/multipart/part/**', async (route) => {
    if (route.request().method() !== 'PUT' || !hold) return route.fallback();
    held++;
    await new Promise((r) => setTimeout(r, 3000));
    try { await route.fallback(); } catch { /* aborted by the cancel */ }
  });
  const big = randomBytes(12 * 1000 * 1000);
  await page.locator('satchel-uploader input[type="file"]').setInputFiles({ name: 'cancel-me.bin', mimeType: 'application/octet-stream', buffer: big });
  await page.waitForFunction(() => document.querySelector('satchel-uploader').dataset.busy === 'true');
  await page.waitForTimeout(300);
  await page.locator('satchel-uploader button.cancel').click();
  await page.locator('satchel-uploader li[data-state="cancelled"]').waitFor();
  assert.ok(held > 0, 'a part was in flight');
  await shot(page, 'uploader-cancelled');
  hold = false;
  await page.locator('satchel-uploader button.retry').click();
  const [link] = await doneLinks(page, 1, 60000);
  assert.equal(sha(await fetchBytes(link)), sha(big));
  // Net::ERR_ABORTED of the cancelled parts is not a console error.
  assert.deepEqual(problems, []);
  await page.close();
});

test('a wrong public key shows the error and offers a retry', async () => {
  const page = await browser.ctx.newPage();
  const problems = await guard(page);
  await page.goto(`${SATCHEL}/?pub_key=nosuchkey`);
  await page.locator('satchel-uploader input[type="file"]').setInputFiles({ name: 'x.txt', mimeType: 'text/plain', buffer: Buffer.from('x') });
  const err = page.locator('satchel-uploader li[data-state="error"] .error');
  await err.waitFor();
  assert.match(await err.textContent(), /UPLOADCARE_PUB_KEY is invalid/);
  assert.equal(await page.locator('satchel-uploader button.retry').count(), 1);
  await shot(page, 'uploader-error');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the element embedded in a page of another origin', async () => {
  const site = await serve((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>embed</title><h1>My site</h1>
<script src="${SATCHEL}/uploader/uploader.js"></script>
<form id="f"><input type="hidden" name="file" id="file">
<satchel-uploader pub-key="${PUB}" input="file" images-only crop="1:1"></satchel-uploader></form>`);
  });
  const page = await browser.ctx.newPage();
  const problems = await guard(page);
  // localhost vs 127.0.0.1: a different origin, so every API call is cross-origin.
  await page.goto(site.url.replace('127.0.0.1', 'localhost'));
  await page.locator('satchel-uploader input[type="file"]').setInputFiles({ name: 'square.png', mimeType: 'image/png', buffer: png(80, 40) });
  await page.waitForFunction(() => document.getElementById('file').value !== '');
  const value = await page.locator('input[name="file"]').inputValue();
  assert.match(value, /^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f-]{36}\/-\/crop\/1:1\/center\/$/);
  const r = await fetch(value);
  assert.equal(r.status, 200);
  await shot(page, 'uploader-embed');
  assert.deepEqual(problems, []);
  await page.close();
  await site.close();
});
