// Shared helpers of the browser tests: the system Chromium, a guard that
// fails on console errors and on any request leaving loopback, screenshots,
// and small test data.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";

export const base = process.env.SATCHEL_URL || "http://127.0.0.1:8080";
export const pub = process.env.SATCHEL_PUB || "";
export const secret = process.env.SATCHEL_SECRET || "";
export const outDir = process.env.E2E_OUT || join(process.cwd(), "..", ".ci", "out");

const flags = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** isLoopback tells whether a request URL stays on this machine. */
export function isLoopback(u) {
  const url = new URL(u);
  if (url.protocol === "data:" || url.protocol === "blob:" || url.protocol === "about:") return true;
  return loopback.has(url.hostname);
}

/**
 * launch starts the system Chromium with a fresh profile and returns
 * { context, page, problems, close }. problems collects console errors,
 * page errors and requests that would leave loopback (those are aborted).
 */
export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), "satchel-e2e-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: flags,
    viewport: options.viewport || { width: 1280, height: 900 },
  });
  const problems = [];
  await context.route("**/*", (route) => {
    const u = route.request().url();
    if (!isLoopback(u)) {
      problems.push(`request leaving loopback: ${u}`);
      return route.abort();
    }
    return route.continue();
  });
  const watch = (page) => {
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console error: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("dialog", (d) => {
      // Confirmations are the dashboard's own; anything else (an alert) is
      // script that should not have run.
      if (d.type() !== "confirm") problems.push(`unexpected ${d.type()} dialog: ${d.message()}`);
      d.accept();
    });
  };
  context.on("page", watch);
  const page = context.pages()[0] || (await context.newPage());
  watch(page);
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** shot saves a full-page screenshot as .ci/out/<name>.png. */
export async function shot(page, name) {
  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: join(outDir, `${name}.png`), fullPage: true });
}

const crcTable = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** png returns an RGB PNG of a colour gradient; hue (0-255) sets its blue. */
export function png(width, height, hue = 0) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0;
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3;
      raw[i] = Math.floor((x * 255) / width);
      raw[i + 1] = Math.floor((y * 255) / height);
      raw[i + 2] = hue & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** upload posts one file to /base/ of the demo project and returns its UUID. */
export async function upload(name, bytes, type, store = "1") {
  const form = new FormData();
  form.set("UPLOADCARE_PUB_KEY", pub);
  form.set("UPLOADCARE_STORE", store);
  form.set("file", new Blob([bytes], { type }), name);
  const res = await fetch(`${base}/base/`, { method: "POST", body: form });
  if (!res.ok) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()).file;
}
