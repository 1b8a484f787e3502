// The Go form example (examples/formapp, package forms) end to end in
// headless Chromium: upload a photo and attachments with the widget, submit,
// and find the files stored; a forged value is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, guard, shot, png, rest } from './uploader-helpers.mjs';

const FORMAPP = (process.env.FORMAPP_URL || 'http://127.0.0.1:8090').replace(/\/+$/, '');
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const uuidOf = (u) => u.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/)[0];

test('form example: upload, submit, stored', async () => {
  const page = await browser.ctx.newPage();
  const problems = await guard(page);
  await page.goto(FORMAPP + '/');
  await page.locator('#title').fill('A holiday');
  const photo = page.locator('satchel-uploader[input="satchel-field-photo"]');
  const attachments = page.locator('satchel-uploader[input="satchel-field-attachments"]');
  await photo.locator('input[type="file"]').setInputFiles({ name: 'beach.png', mimeType: 'image/png', buffer: png(90, 60) });
  await attachments.locator('input[type="file"]').setInputFiles([
    { name: 'itinerary.txt', mimeType: 'text/plain', buffer: Buffer.from('day 1: beach\n') },
    { name: 'map.png', mimeType: 'image/png', buffer: png(30, 30, [0, 200, 0]) },
  ]);
  await page.waitForFunction(() => document.getElementById('satchel-field-photo').value !== ''
    && /~2\/$/.test(document.getElementById('satchel-field-attachments').value));
  const photoValue = await page.locator('#satchel-field-photo').inputValue();
  const groupValue = await page.locator('#satchel-field-attachments').inputValue();
  assert.match(photoValue, /\/-\/crop\/1:1\/center\/$/);
  // Uploaded unstored: only saving the form stores them.
  const photoID = uuidOf(photoValue);
  assert.equal((await rest(`/files/${photoID}/`)).datetime_stored, null);
  await shot(page, 'formapp-filled');

  await page.locator('#save').click();
  await page.locator('#saved').waitFor();
  assert.match(page.url(), /\/entries\/\d+$/);
  assert.match(await page.locator('#photo-url').textContent(), new RegExp(`${photoID}/-/crop/1:1/$`));
  assert.equal(await page.locator('.stored').count(), 3);
  // The preview of the cropped photo loads from the CDN.
  await page.waitForFunction(() => { const i = document.getElementById('photo-img'); return i.complete && i.naturalWidth > 0; });
  assert.equal(await page.evaluate(() => document.getElementById('photo-img').naturalWidth), 60);
  await shot(page, 'formapp-saved');

  assert.notEqual((await rest(`/files/${photoID}/`)).datetime_stored, null);
  const group = await rest(`/groups/${uuidOf(groupValue)}~2/`);
  assert.equal(group.files.length, 2);
  for (const f of group.files) assert.notEqual(f.datetime_stored, null, f.original_filename);
  assert.deepEqual(problems, []);
  await page.close();
});

test('form example: a forged value is refused', async () => {
  const page = await browser.ctx.newPage();
  const problems = await guard(page);
  await page.goto(FORMAPP + '/');
  await page.locator('#title').fill('Forged');
  // A well-formed UUID the project does not have, and a group for a file field.
  await page.evaluate(() => {
    document.getElementById('satchel-field-photo').value = '3f0e7c2a-9a51-4a8e-8d3f-1b2c3d4e5f60';
    document.getElementById('satchel-field-attachments').value = 'not a group';
  });
  await page.locator('#save').click();
  await page.locator('#photo-error').waitFor();
  assert.match(await page.locator('#photo-error').textContent(), /no such file/);
  assert.match(await page.locator('#attachments-error').textContent(), /not a file UUID or URL|not a valid/);
  await shot(page, 'formapp-forged');
  // The 422 answer of the refused form is the only console error.
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
  await page.close();
});

test('form example: the uploader itself refuses a non-image for the photo', async () => {
  const page = await browser.ctx.newPage();
  const problems = await guard(page);
  await page.goto(FORMAPP + '/');
  const photo = page.locator('satchel-uploader[input="satchel-field-photo"]');
  await photo.locator('input[type="file"]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('x') });
  await photo.locator('li[data-state="error"]').waitFor();
  assert.match(await photo.locator('.error').textContent(), /Only images/);
  assert.equal(await page.locator('#satchel-field-photo').inputValue(), '');
  assert.deepEqual(problems, []);
  await page.close();
});
