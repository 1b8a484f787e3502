// Shared pieces of the uploader browser tests: the browser (Debian's
// chromium, never a downloaded one), a guard that records console errors and
// requests leaving loopback, screenshots and a loopback static file server.
import { chromium } from 'playwright-core';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import * as zlib from 'node:zlib';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const SATCHEL = (process.env.SATCHEL_URL || 'http://127.0.0.1:8080').replace(/\/+$/, '');
export const PUB = process.env.SATCHEL_PUB_KEY || 'demopublickey';
export const SECRET = process.env.SATCHEL_SECRET_KEY || 'demosecretkey';
export const OUT = process.env.E2E_OUT || join(here, '..', '.ci', 'out');

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Starts Chromium with a fresh profile; close() removes the profile. */
export async function launch() {
  const dir = await mkdtemp(join(tmpdir(), 'satchel-e2e-chromium-'));
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 800 },
  });
  return {
    ctx,
    async close() {
      await ctx.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function isLoopback(host) {
  host = host.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/**
 * guard records, for a page, console errors, uncaught exceptions and any
 * request or WebSocket to a host other than loopback (those are aborted).
 * allow: regexps of console messages that are expected.
 */
export async function guard(page, allow = []) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !allow.some((r) => r.test(m.text()))) problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('websocket', (ws) => {
    const u = new URL(ws.url());
    if (!isLoopback(u.hostname)) problems.push(`websocket left loopback: ${ws.url()}`);
  });
  await page.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if ((u.protocol === 'http:' || u.protocol === 'https:') && !isLoopback(u.hostname)) {
      problems.push(`request left loopback: ${u.href}`);
      return route.abort('blockedbyclient');
    }
    return route.fallback();
  });
  return problems;
}

export async function shot(page, name) {
  await mkdir(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, name + '.png'), fullPage: true });
}

/** serve starts a loopback HTTP server; handler(req, res). Returns {url, close}. */
export function serve(handler) {
  return new Promise((resolve) => {
    const srv = createServer(handler);
    srv.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => { srv.close(r); srv.closeAllConnections(); }) });
    });
  });
}

/** A small valid PNG (w×h, one colour) for uploads. */
export function png(w = 64, h = 48, rgb = [200, 40, 40]) {
  const { deflateSync } = zlib;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (rgb[0] + x * 2) & 255;
      raw[o + 1] = (rgb[1] + y * 3) & 255;
      raw[o + 2] = rgb[2];
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}


function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (~c) >>> 0;
}

/** rest calls Satchel's REST API with the demo keys (Uploadcare.Simple over loopback). */
export async function rest(path, init = {}) {
  const res = await fetch(SATCHEL + path, {
    ...init,
    headers: { Accept: 'application/vnd.uploadcare-v0.7+json', Authorization: `Uploadcare.Simple ${PUB}:${SECRET}`, ...(init.headers || {}) },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}
