// The dashboard in a real browser: sign in, browse with thumbnails, filter,
// edit metadata and tags, build a CDN URL, delete a file, add a webhook and
// see its delivery. No console errors, no request leaving loopback.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { launch, shot, png, upload, base, pub, secret } from "./lib.mjs";

let b;
let receiver;
const received = [];
const ids = {};

before(async () => {
  assert.ok(pub && secret, "SATCHEL_PUB and SATCHEL_SECRET must be set (use e2e/run.sh)");
  ids.photo = await upload("sunset photo.png", png(640, 420, 0), "image/png");
  ids.second = await upload("forest.png", png(480, 480, 90), "image/png");
  ids.third = await upload("sea.png", png(300, 500, 170), "image/png", "0");
  ids.notes = await upload("notes.txt", Buffer.from("plain text"), "text/plain");
  ids.evil = await upload("<img src=x onerror=alert(1)>.txt", Buffer.from("x"), "text/plain");
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push(body);
      res.writeHead(204).end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  b = await launch();
});

after(async () => {
  await b?.close();
  receiver?.close();
});

test("sign in with the project's keys", async () => {
  const { page } = b;
  await page.goto(`${base}/dashboard/`);
  assert.match(page.url(), /\/dashboard\/signin/);
  await page.getByLabel("Public key").fill(pub);
  await page.getByLabel("Secret key").fill("not the secret");
  await page.getByRole("button", { name: "Sign in" }).first().click();
  await page.getByRole("alert").waitFor();
  // The refusal answers 401, which Chromium logs as a failed resource: that
  // one entry is expected, nothing else.
  assert.deepEqual(b.problems, ["console error: Failed to load resource: the server responded with a status of 401 (Unauthorized)"]);
  b.problems.length = 0;
  await page.getByLabel("Public key").fill(pub);
  await page.getByLabel("Secret key").fill(secret);
  await shot(page, "dashboard-signin");
  await page.getByLabel("Secret key").press("Enter");
  await page.waitForURL(/\/dashboard\/p\/\d+\/$/);
  assert.equal(await page.locator('[data-figure="stored"]').textContent(), "4");
  assert.equal(await page.locator('[data-figure="temporary"]').textContent(), "1");
  await shot(page, "dashboard-overview");
});

test("browse files with thumbnails and filter them", async () => {
  const { page } = b;
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Files" }).click();
  await page.waitForURL(/\/files$/);
  const imgs = page.locator(".grid img");
  assert.equal(await imgs.count(), 3);
  await page.waitForFunction(() => [...document.querySelectorAll(".grid img")].every((i) => i.complete && i.naturalWidth > 0));
  const srcs = await imgs.evaluateAll((els) => els.map((e) => e.getAttribute("src")));
  assert.ok(srcs.includes(`/${ids.photo}/-/preview/200x200/`), srcs.join(","));
  // The hostile name shows as text, never as markup.
  await page.getByText("<img src=x onerror=alert(1)>.txt").waitFor();
  assert.equal(await page.locator(".grid img").count(), 3);
  await shot(page, "dashboard-files");

  await page.getByLabel("Type").selectOption("image");
  await page.getByLabel("State").selectOption("temporary");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/kind=image/);
  assert.equal(await page.locator(".grid li").count(), 1);
  await page.getByText("sea.png").waitFor();

  // Keyboard only: type a name and submit with Enter.
  await page.getByRole("link", { name: "Reset" }).click();
  await page.getByLabel("Name contains").fill("sunset");
  await page.getByLabel("Name contains").press("Enter");
  await page.waitForURL(/q=sunset/);
  assert.equal(await page.locator(".grid li").count(), 1);
});

test("edit metadata and tags, build a CDN URL", async () => {
  const { page } = b;
  await page.getByRole("link", { name: /sunset photo\.png/ }).click();
  await page.waitForURL(new RegExp(`/files/${ids.photo}$`));
  await page.getByLabel("Key", { exact: true }).fill("subject");
  await page.getByLabel("Value", { exact: true }).fill("evening <sky>");
  await page.getByRole("button", { name: "Set" }).click();
  await page.getByRole("status").filter({ hasText: "Metadata saved." }).waitFor();
  await page.getByRole("cell", { name: "evening <sky>" }).waitFor();

  await page.getByLabel("Tags, comma separated").fill("Holiday, sky");
  await page.getByRole("button", { name: "Save tags" }).click();
  await page.getByRole("status").filter({ hasText: "Tags saved." }).waitFor();
  assert.equal(await page.getByLabel("Tags, comma separated").inputValue(), "holiday, sky");

  await page.getByLabel("Operations").fill("-/resize/120x/-/format/webp/");
  await page.getByRole("button", { name: "Build URL" }).click();
  await page.waitForURL(/ops=/);
  const u = await page.getByLabel("URL", { exact: true }).inputValue();
  assert.equal(u, `/${ids.photo}/-/resize/120x/-/format/webp/`);
  await page.getByRole("button", { name: "Copy URL" }).click();
  await page.locator(".copied").filter({ hasText: /Copied|copy it/ }).waitFor();
  const res = await fetch(base + u);
  assert.equal(res.status, 200);
  await shot(page, "dashboard-file");

  const rest = await fetch(`${base}/files/${ids.photo}/metadata/subject/`, {
    headers: { Authorization: `Uploadcare.Simple ${pub}:${secret}`, Accept: "application/vnd.uploadcare-v0.7+json" },
  });
  assert.equal(await rest.json(), "evening <sky>");
});

test("delete a file", async () => {
  const { page } = b;
  await page.goto(`${base}/dashboard/`);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Files" }).click();
  await page.getByRole("link", { name: /forest\.png/ }).click();
  await page.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("status").filter({ hasText: "The file was deleted." }).waitFor();
  assert.match(await page.locator("[data-state]").textContent(), /^removed/);
  const res = await fetch(`${base}/${ids.second}/`);
  assert.equal(res.status, 404);
});

test("add a webhook and see its delivery", async () => {
  const { page } = b;
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Webhooks" }).click();
  const target = `http://127.0.0.1:${receiver.address().port}/hook`;
  await page.getByLabel("Target URL").fill(target);
  await page.getByLabel("Event").selectOption("file.uploaded");
  await page.getByRole("button", { name: "Add webhook" }).click();
  await page.getByRole("status").filter({ hasText: "Webhook saved." }).waitFor();
  await page.getByRole("cell", { name: target }).waitFor();
  await upload("hooked.png", png(200, 200, 40), "image/png");
  for (let i = 0; i < 100; i++) {
    await page.reload();
    if (await page.locator(".status.delivered").count()) break;
    await page.waitForTimeout(200);
  }
  await page.locator(".status.delivered").first().waitFor();
  assert.equal(received.length, 1);
  assert.equal(JSON.parse(received[0]).data.original_filename, "hooked.png");
  await shot(page, "dashboard-webhooks");
  await page.getByRole("button", { name: "Redeliver" }).first().click();
  await page.getByRole("status").filter({ hasText: "queued" }).waitFor();
  for (let i = 0; i < 100 && received.length < 2; i++) await page.waitForTimeout(100);
  assert.equal(received.length, 2);
});

test("settings and a narrow screen", async () => {
  const { page } = b;
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Allowed types, comma separated (empty: all), e.g. image/*, application/pdf").fill("image/*");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByRole("status").filter({ hasText: "Settings saved." }).waitFor();
  await shot(page, "dashboard-settings");
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Files" }).click();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
  await shot(page, "dashboard-files-narrow");
  // Leave the demo project as it was: the uploader tests share it.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
  await page.getByLabel("Allowed types, comma separated (empty: all), e.g. image/*, application/pdf").fill("");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByRole("status").filter({ hasText: "Settings saved." }).waitFor();
});

test("no console errors and no request left loopback", () => {
  assert.deepEqual(b.problems, []);
});
