// The official JavaScript API clients, @uploadcare/upload-client and
// @uploadcare/rest-client (installed from npm into e2e/node_modules), pointed
// at Satchel by their base-URL settings only (`baseURL`/`baseCDN` and
// `apiBaseURL`), used as a user would. Every request stays on loopback: a
// lookup of any other host fails, and the only one allowed to be tried is the
// upload client's Pusher socket, which Satchel does not serve.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import http from 'node:http';
import { execFileSync, execFile, spawn } from 'node:child_process';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UploadClient, UploadError, UploadcareGroup } from '@uploadcare/upload-client';
import {
  AddonName, ConversionType, Paginator, RestClientError, RestClientValidationError, UploadcareAuthSchema, UploadcareSimpleAuthSchema,
  addonExecutionStatus, addonJobPoller, conversionInfo, conversionJobPoller, conversionJobStatus, convert,
  copyFileToLocalStorage, copyFileToRemoteStorage, createWebhook, deleteFile, deleteFiles, deleteGroup,
  deleteMetadata, deleteWebhook, executeAddon, fileInfo, getMetadata, getMetadataValue, getTags, groupInfo,
  listOfFiles, listOfGroups, listOfWebhooks, paginate, replaceTags, searchFiles, storeFile, storeFiles, updateMetadata,
  updateTags, updateWebhook,
} from '@uploadcare/rest-client';
import { generateSecureSignature } from '@uploadcare/signed-uploads';
import { base, png } from './lib.mjs';

// Hosts other than loopback never resolve; the Pusher socket of uploadFromUrl
// is the one expected attempt (its failure is ignored by the client).
const leaving = [];
const realLookup = dns.lookup;
dns.lookup = function lookup(host, options, callback) {
  if (typeof options === 'function') [options, callback] = [{}, options];
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return realLookup.call(dns, host, options, callback);
  leaving.push(host);
  const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${host} (the tests stay on loopback)`), { code: 'ENOTFOUND', hostname: host });
  process.nextTick(callback, err);
  return {};
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const sha = (b) => createHash('sha256').update(b).digest('hex');
// The tests' own projects, added with `satchel project create` next to the
// demo project (whose files the dashboard tests count): one that stores
// automatically, and one that requires signed uploads and has a custom
// storage for remote copies.
const pub = 'e2eclientspublickey';
const secret = 'e2eclientssecretkey';
const client = new UploadClient({ publicKey: pub, baseURL: base, baseCDN: base });
const SIGNED_PUB = 'e2esignedpublickey';
const SIGNED_SECRET = 'e2esignedsecretkey';
const copies = mkdtempSync(join(tmpdir(), 'satchel-copies-'));
const signedClient = new UploadClient({ publicKey: SIGNED_PUB, baseURL: base, baseCDN: base });

// Source server for from-URL uploads.
let source;
const served = new Map();
let slowHits = 0;

async function download(url) {
  const res = await fetch(url);
  assert.equal(res.status, 200, `GET ${url}`);
  return Buffer.from(await res.arrayBuffer());
}

function createProject(...args) {
  execFileSync(process.env.SATCHEL_BIN || 'satchel', [
    'project', 'create', '--data-dir', process.env.SATCHEL_DATA_DIR || './satchel-data', ...args,
  ], { stdio: 'pipe' });
}

before(async () => {
  createProject('--public-key', pub, '--secret-key', secret, '--name', 'clients', '--autostore=true');
  createProject('--public-key', SIGNED_PUB, '--secret-key', SIGNED_SECRET, '--name', 'signed',
    '--signed-uploads=true', '--storage', `copies=file://${copies}`);
  source = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/slow.bin') {
      // 640 KiB in 10 pieces over about 2 s, so the status poll sees progress.
      slowHits++;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': 10 * 65536 });
      let i = 0;
      const t = setInterval(() => {
        res.write(Buffer.alloc(65536, i));
        if (++i === 10) { clearInterval(t); res.end(); }
      }, 200);
      req.on('close', () => clearInterval(t));
      return;
    }
    const body = served.get(u.pathname);
    if (!body) { res.writeHead(404, { 'Content-Type': 'text/plain' }); return res.end('no such file'); }
    res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': body.length });
    res.end(body);
  });
  await new Promise((resolve) => source.listen(0, '127.0.0.1', resolve));
  source.url = `http://127.0.0.1:${source.address().port}`;
});

after(async () => {
  source?.closeAllConnections?.();
  await new Promise((resolve) => (source ? source.close(resolve) : resolve()));
  rmSync(copies, { recursive: true, force: true });
  const unexpected = leaving.filter((h) => h !== 'ws.pusherapp.com');
  assert.deepEqual(unexpected, [], `requests leaving loopback: ${unexpected.join(', ')}`);
});

// ---------------------------------------------------------------- Upload API

test('upload-client: direct upload with metadata, tags and store=false', async () => {
  const data = png(40, 30, 7);
  const progress = [];
  const file = await client.uploadFile(data, {
    fileName: 'pic one.png', contentType: 'image/png', store: false,
    metadata: { subsystem: 'e2e', pet: 'cat' }, tags: ['alpha', 'beta'],
    onProgress: (p) => progress.push(p),
  });
  assert.match(file.uuid, UUID);
  assert.equal(file.originalFilename, 'pic one.png');
  assert.equal(file.size, data.length);
  assert.equal(file.isStored, false);
  assert.equal(file.isImage, true);
  assert.equal(file.mimeType, 'image/png');
  assert.equal(file.cdnUrl, `${base}/${file.uuid}/`);
  assert.equal(file.s3Bucket, null);
  assert.deepEqual(file.metadata, { subsystem: 'e2e', pet: 'cat' });
  assert.deepEqual(file.tags, ['alpha', 'beta']);
  assert.equal(file.imageInfo.width, 40);
  assert.equal(file.imageInfo.height, 30);
  assert.equal(file.imageInfo.format, 'PNG');
  assert.equal(file.contentInfo.mime.mime, 'image/png');
  assert.equal(file.contentInfo.mime.type, 'image');
  assert.equal(file.contentInfo.mime.subtype, 'png');
  assert.equal(file.contentInfo.image.width, 40);
  assert.equal(file.videoInfo, null);
  assert.ok(progress.some((p) => p.isComputable && p.value === 1), 'progress reached 1');
  assert.equal(sha(await download(file.cdnUrl)), sha(data));

  // The low-level calls: /info/ answers the whole file-upload info.
  const info = await client.info(file.uuid);
  assert.equal(info.uuid, file.uuid);
  assert.equal(info.fileId, file.uuid);
  assert.equal(info.isReady, true);
  assert.equal(info.isStored, false);
  assert.equal(info.size, data.length);
  assert.equal(info.done, data.length);
  assert.equal(info.total, data.length);
  assert.equal(file.name, info.filename);
  assert.equal(info.originalFilename, 'pic one.png');
  assert.equal(info.mimeType, 'image/png');

  // base() alone answers {file}.
  const raw = await client.base(png(8, 8, 1), { store: true, fileName: 'b.png' });
  assert.match(raw.file, UUID);
});

test('upload-client: store flag', async () => {
  const stored = await client.uploadFile(png(10, 10, 2), { store: true, fileName: 's.png' });
  assert.equal(stored.isStored, true);
  // The project stores automatically, so "auto" (the default) stores too.
  const auto = await client.uploadFile(png(10, 10, 3), { fileName: 'a.png' });
  assert.equal(auto.isStored, true);
  const temp = await client.uploadFile(png(10, 10, 4), { store: false, fileName: 't.png' });
  assert.equal(temp.isStored, false);
});

test('upload-client: multipart upload of 26 MiB', async () => {
  const data = randomBytes(26 * 1024 * 1024);
  const progress = [];
  const file = await client.uploadFile(data, {
    fileName: 'big.bin', contentType: 'application/octet-stream', store: true,
    metadata: { kind: 'multipart' }, tags: ['big', 'parts'], onProgress: (p) => progress.push(p),
  });
  assert.match(file.uuid, UUID);
  assert.equal(file.size, data.length);
  assert.equal(file.name, 'big.bin');
  assert.equal(file.isStored, true);
  assert.equal(file.isImage, false);
  assert.equal(file.mimeType, 'application/octet-stream');
  assert.deepEqual(file.metadata, { kind: 'multipart' });
  assert.deepEqual(file.tags, ['big', 'parts']);
  assert.ok(progress.length > 1 && progress.every((p) => p.isComputable && p.value >= 0 && p.value <= 1));
  assert.equal(sha(await download(file.cdnUrl)), sha(data));

  // The low-level steps: start answers one part URL per 5 MiB part.
  const start = await client.multipartStart(11 * 1024 * 1024, { fileName: 'parts.bin', contentType: 'application/octet-stream' });
  assert.match(start.uuid, UUID);
  assert.equal(start.parts.length, 3);
  const body = randomBytes(11 * 1024 * 1024);
  for (const [i, url] of start.parts.entries()) {
    const { code } = await client.multipartUpload(body.subarray(i * 5242880, (i + 1) * 5242880), url, { contentType: 'application/octet-stream' });
    assert.equal(code, 200);
  }
  const done = await client.multipartComplete(start.uuid);
  assert.equal(done.uuid, start.uuid);
  assert.equal(done.size, body.length);
  assert.equal(done.isReady, true);

  // A chunk size of the caller's choosing (sent as part_size). (A Blob or
  // File fails in the client's own Node transport for parts: Buffers only.)
  const odd = randomBytes(13 * 1024 * 1024 + 5);
  const viaFile = await client.uploadFile(odd, { fileName: 'odd.bin', contentType: 'application/x-odd',
    multipartMinFileSize: 10 * 1024 * 1024, multipartChunkSize: 6 * 1024 * 1024, maxConcurrentRequests: 2,
  });
  assert.equal(viaFile.size, odd.length);
  assert.equal(viaFile.name, 'odd.bin');
  assert.equal(sha(await download(viaFile.cdnUrl)), sha(odd));
});

test('upload-client: from URL, with status polling, duplicates and errors', async () => {
  const data = png(24, 16, 9);
  served.set('/remote.png', data);
  const file = await client.uploadFile(`${source.url}/remote.png`, {
    fileName: 'fetched.png', store: false, metadata: { origin: 'url' }, tags: 'remote,url',
  });
  assert.match(file.uuid, UUID);
  assert.equal(file.name, 'fetched.png');
  assert.equal(file.size, data.length);
  assert.equal(file.isImage, true);
  assert.equal(file.isStored, false);
  assert.deepEqual(file.metadata, { origin: 'url' });
  assert.deepEqual(file.tags, ['remote', 'url']);
  assert.equal(file.cdnUrl, `${base}/${file.uuid}/`);
  assert.equal(sha(await download(file.cdnUrl)), sha(data));

  // The states of a slow download, read with the low-level calls.
  const { type, token } = await client.fromUrl(`${source.url}/slow.bin`, { store: false });
  assert.equal(type, 'token');
  assert.match(token, UUID);
  const seen = [];
  let last;
  for (let i = 0; i < 100; i++) {
    last = await client.fromUrlStatus(token);
    seen.push(last.status);
    if (last.status === 'success' || last.status === 'error') break;
    assert.ok(['waiting', 'progress'].includes(last.status), `status ${last.status}`);
    // Known size: every answer can be read as a fraction.
    assert.equal(typeof last.done, 'number');
    assert.equal(typeof last.total, 'number');
    if (last.status === 'progress') assert.ok(last.total === 10 * 65536 && last.done <= last.total, JSON.stringify(last));
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(last.status, 'success', `states: ${seen.join(' ')}`);
  assert.ok(seen.includes('progress'), `states: ${seen.join(' ')}`);
  assert.match(last.uuid, UUID);
  assert.equal(last.fileId, last.uuid);
  assert.equal(last.size, 10 * 65536);
  assert.equal(last.done, last.total);
  assert.equal(last.isReady, true);
  assert.equal(last.filename, 'slow.bin');

  // An unknown token.
  const unknown = await client.fromUrlStatus('00000000-0000-4000-8000-000000000000');
  assert.equal(unknown.status, 'unknown');

  // Recurrent uploads: the saved URL is answered with the same file.
  served.set('/dup.png', png(12, 12, 5));
  const first = await client.uploadFile(`${source.url}/dup.png`, { saveUrlForRecurrentUploads: true, store: true });
  const again = await client.fromUrl(`${source.url}/dup.png`, { checkForUrlDuplicates: true, store: true });
  assert.equal(again.type, 'file_info');
  assert.equal(again.uuid, first.uuid);
  assert.equal(again.isReady, true);
  const viaUpload = await client.uploadFile(`${source.url}/dup.png`, { checkForUrlDuplicates: true, store: true });
  assert.equal(viaUpload.uuid, first.uuid);

  // A source that fails: the poll ends with the server's error and code.
  await assert.rejects(client.uploadFile(`${source.url}/missing.png`), (e) => {
    assert.ok(e instanceof UploadError, String(e));
    assert.ok(e.message.length > 0);
    assert.equal(typeof e.code, 'string');
    return true;
  });
});

test('upload-client: groups', async () => {
  const a = png(20, 20, 10);
  const b = png(30, 20, 11);
  const group = await client.uploadFileGroup([a, b], { store: true });
  assert.ok(group instanceof UploadcareGroup);
  assert.match(group.uuid, /^[0-9a-f-]{36}~2$/);
  assert.equal(group.filesCount, 2);
  assert.equal(group.files.length, 2);
  assert.equal(group.totalSize, a.length + b.length);
  assert.equal(group.isImage, true);
  assert.equal(group.cdnUrl, `${base}/${group.uuid}/`);
  assert.match(group.createdAt, ISO);
  for (const f of group.files) {
    assert.match(f.uuid, UUID);
    assert.equal(f.cdnUrl, `${base}/${f.uuid}/`);
    assert.equal(f.isImage, true);
  }

  // A group of uploaded files, one with default effects.
  const uuids = group.files.map((f) => f.uuid);
  const again = await client.uploadFileGroup([uuids[0], `${uuids[1]}/-/resize/10x/`]);
  assert.match(again.uuid, /~2$/);
  assert.equal(again.files[1].defaultEffects, 'resize/10x/');

  const info = await client.groupInfo(group.uuid);
  assert.equal(info.id, group.uuid);
  assert.equal(info.filesCount, 2);
  assert.deepEqual(info.files.map((f) => f.uuid), uuids);
  assert.match(info.datetimeCreated, ISO);
  assert.ok(info.cdnUrl.endsWith(`/${group.uuid}/`));

  // A group of URLs: each is fetched, then grouped.
  served.set('/g1.png', png(9, 4, 12));
  served.set('/g2.png', png(4, 9, 13));
  const fromUrls = await client.uploadFileGroup([`${source.url}/g1.png`, `${source.url}/g2.png`], { store: true });
  assert.equal(fromUrls.filesCount, 2);
  assert.deepEqual(fromUrls.files.map((f) => f.size), [served.get('/g1.png').length, served.get('/g2.png').length]);

  // An uploaded file by its UUID (uploadFromUploaded: /info/ until ready).
  const known = await client.uploadFile(uuids[0]);
  assert.equal(known.uuid, uuids[0]);
  assert.equal(known.size, a.length);

  await assert.rejects(client.groupInfo('00000000-0000-4000-8000-000000000000~1'), (e) => {
    assert.ok(e instanceof UploadError);
    assert.equal(e.code, 'GroupNotFoundError');
    return true;
  });
});

test('upload-client: signed uploads', async () => {
  const data = png(16, 16, 20);
  // Without a signature the project refuses every upload.
  await assert.rejects(signedClient.uploadFile(data), (e) => {
    assert.ok(e instanceof UploadError, String(e));
    assert.equal(e.code, 'SignatureRequiredError');
    return true;
  });
  const sig = generateSecureSignature(SIGNED_SECRET, { lifetime: 60 * 1000 });
  const file = await signedClient.uploadFile(data, { ...sig, fileName: 'signed.png', store: true });
  assert.equal(file.size, data.length);
  assert.equal(file.isStored, true);

  served.set('/signed.png', data);
  const fetched = await signedClient.uploadFile(`${source.url}/signed.png`, { ...sig });
  assert.equal(fetched.size, data.length);

  const big = randomBytes(26 * 1024 * 1024 + 17);
  const multi = await signedClient.uploadFile(big, { ...sig, fileName: 'signed.bin' });
  assert.equal(multi.size, big.length);

  const group = await signedClient.uploadFileGroup([file.uuid, fetched.uuid], { ...sig });
  assert.equal(group.filesCount, 2);

  // A wrong or expired signature.
  await assert.rejects(signedClient.uploadFile(data, { secureSignature: '0'.repeat(64), secureExpire: sig.secureExpire }),
    (e) => e instanceof UploadError && e.code === 'SignatureInvalidError');
  const old = generateSecureSignature(SIGNED_SECRET, { expire: Date.now() - 60 * 1000 });
  await assert.rejects(signedClient.uploadFile(data, { ...old }),
    (e) => e instanceof UploadError && e.code === 'SignatureExpirationError');
});

test('upload-client: errors', async () => {
  await assert.rejects(client.info('00000000-0000-4000-8000-000000000000'),
    (e) => e instanceof UploadError && e.code === 'FileNotFoundError' && e.message.length > 0);
  const stranger = new UploadClient({ publicKey: 'nosuchpublickey', baseURL: base, baseCDN: base });
  await assert.rejects(stranger.uploadFile(png(4, 4)),
    (e) => e instanceof UploadError && e.code === 'ProjectPublicKeyInvalidError');
});

// hold starts a direct upload whose body does not end until release() is
// called; answered resolves with its JSON answer.
function hold(url, pubKey) {
  const boundary = 'xxHELDxx';
  const req = http.request(`${url}/base/?jsonerrors=1`, {
    method: 'POST', headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
  });
  const answered = new Promise((resolve, reject) => {
    req.on('response', (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(JSON.parse(b))); });
    req.on('error', reject);
  });
  req.write(`--${boundary}\r\nContent-Disposition: form-data; name="UPLOADCARE_PUB_KEY"\r\n\r\n${pubKey}\r\n`
    + `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="held.bin"\r\n`
    + 'Content-Type: application/octet-stream\r\n\r\n' + 'x'.repeat(4096));
  return { answered, release: () => req.end(`\r\n--${boundary}--\r\n`) };
}

test('upload-client: a throttled upload is retried after Retry-After', async () => {
  const limited = await startLimited();
  try {
    // Hold the node's one upload slot, and see a plain request refused.
    let held;
    let refused;
    for (let i = 0; i < 20 && !refused; i++) {
      held = hold(limited.url, limited.pub);
      for (let j = 0; j < 20 && !refused; j++) {
        const form = new FormData();
        form.set('file', new Blob([Buffer.from('probe')]), 'probe.txt');
        form.set('UPLOADCARE_PUB_KEY', limited.pub);
        const res = await fetch(`${limited.url}/base/?jsonerrors=1`, { method: 'POST', body: form });
        const body = await res.json();
        if (body.error) refused = { res, body };
        else await new Promise((r) => setTimeout(r, 20));
        // The probe may have taken the slot first and had the held upload refused.
        const early = await Promise.race([held.answered, new Promise((r) => setTimeout(r, 0, null))]);
        if (early) break;
      }
    }
    assert.ok(refused, 'an upload was refused while the slot was held');
    assert.equal(refused.body.error.error_code, 'RequestThrottledError');
    assert.match(refused.res.headers.get('retry-after'), /^[1-9]\d*$/);

    // The client waits Retry-After and tries again, by when the slot is free.
    const other = new UploadClient({ publicKey: limited.pub, baseURL: limited.url, baseCDN: limited.url });
    const upload = other.uploadFile(png(5, 5), { fileName: 'after.png' });
    await new Promise((r) => setTimeout(r, 300));
    held.release();
    assert.match((await held.answered).file, UUID);
    const file = await upload;
    assert.equal(file.name, 'after.png');
  } finally {
    await limited.stop();
  }
});

// ------------------------------------------------------------------ REST API

// startLimited runs a second Satchel with a REST rate limit of 2 requests/s
// and one upload at a time on the node. (The per-project cap would not
// do: the upload client sends the file before UPLOADCARE_PUB_KEY, so the
// project is unknown while a direct upload's bytes arrive.)
async function startLimited() {
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
  const dir = mkdtempSync(join(tmpdir(), 'satchel-limited-'));
  const env = { ...process.env, SATCHEL_DEMO_PUBLIC_KEY: 'limitedpublickey', SATCHEL_DEMO_SECRET_KEY: 'limitedsecretkey' };
  for (const k of Object.keys(env)) if (k.startsWith('SATCHEL_') && !k.startsWith('SATCHEL_DEMO_')) delete env[k];
  const child = spawn(process.env.SATCHEL_BIN || 'satchel', ['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dir,
    '--rate-limit', '2', '--max-concurrent-uploads', '1', '--uploader-page=false', '--log-level', 'error'], { env, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${url}/healthz`)).ok) break; } catch { /* not up yet */ }
    if (i === 100) { child.kill(); throw new Error('the rate-limited Satchel did not start'); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url, pub: 'limitedpublickey', secret: 'limitedsecretkey',
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const schemes = {
  'Uploadcare.Simple': () => new UploadcareSimpleAuthSchema({ publicKey: pub, secretKey: secret }),
  Uploadcare: () => new UploadcareAuthSchema({ publicKey: pub, secretKey: secret }),
};
const settingsFor = (scheme, key = pub, sec = secret) => ({
  authSchema: scheme === 'Uploadcare'
    ? new UploadcareAuthSchema({ publicKey: key, secretKey: sec })
    : new UploadcareSimpleAuthSchema({ publicKey: key, secretKey: sec }),
  apiBaseURL: `${base}/`,
});

// uploads stores n small images in the project and returns their UUIDs.
async function uploads(n, prefix) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push((await client.uploadFile(png(6 + i, 6, 30 + i), { fileName: `${prefix}${i}.png`, store: true })).uuid);
  }
  return out;
}

for (const scheme of Object.keys(schemes)) {
  const settings = settingsFor(scheme);

  test(`rest-client (${scheme}): list of files with paging`, async () => {
    const mine = await uploads(3, 'list');
    const first = await listOfFiles({ limit: 2, ordering: '-datetime_uploaded', stored: true }, settings);
    assert.equal(first.perPage, 2);
    assert.equal(first.results.length, 2);
    assert.equal(typeof first.total, 'number');
    assert.ok(first.total >= 3);
    assert.equal(first.previous, null);
    assert.ok(first.next.startsWith(`${base}/files/?`), first.next);
    // The newest first: the last two uploads.
    assert.deepEqual(first.results.map((f) => f.uuid), [mine[2], mine[1]]);
    const f = first.results[0];
    assert.match(f.datetimeUploaded, ISO);
    assert.match(f.datetimeStored, ISO);
    assert.equal(f.datetimeRemoved, null);
    assert.equal(f.isReady, true);
    assert.equal(f.isImage, true);
    assert.equal(f.mimeType, 'image/png');
    assert.equal(f.originalFilename, 'list2.png');
    assert.equal(f.url, `${base}/files/${mine[2]}/`);
    assert.equal(f.originalFileUrl, `${base}/${mine[2]}/list2.png`);
    assert.equal(f.contentInfo.image.width, 8);

    // The paginator follows `next` to the end; every file once.
    const seen = [];
    let pages = 0;
    for await (const page of paginate(listOfFiles)({ limit: 2, ordering: '-datetime_uploaded', stored: true }, settings)) {
      pages++;
      assert.ok(page.results.length <= 2);
      seen.push(...page.results.map((x) => x.uuid));
    }
    assert.equal(new Set(seen).size, seen.length);
    assert.equal(seen.length, first.total);
    assert.ok(pages >= 2);
    for (const id of mine) assert.ok(seen.includes(id));

    // `from` as a Date (sent as toISOString()) and the removed filter.
    const since = await listOfFiles({ from: new Date(Date.parse(f.datetimeUploaded) - 1), ordering: 'datetime_uploaded', limit: 100 }, settings);
    assert.ok(since.results.some((x) => x.uuid === mine[2]));
    assert.ok(since.results.every((x) => Date.parse(x.datetimeUploaded) >= Date.parse(f.datetimeUploaded) - 1));
    const removed = await listOfFiles({ removed: true, limit: 5 }, settings);
    assert.ok(removed.results.every((x) => x.datetimeRemoved !== null));

    // Paginator: forward then back.
    const p = new Paginator(listOfFiles, { limit: 1, ordering: 'datetime_uploaded' }, settings);
    const a = await p.next();
    const b = await p.next();
    assert.notEqual(a.results[0].uuid, b.results[0].uuid);
    assert.ok(p.hasPrevPage());
    const back = await p.prev();
    assert.equal(back.results[0].uuid, a.results[0].uuid);
  });

  test(`rest-client (${scheme}): file info, store and delete`, async () => {
    const [a, b, c, d] = await Promise.all([
      client.uploadFile(png(9, 9, 40), { store: false, fileName: 'a.png', metadata: { k: 'v' } }),
      client.uploadFile(png(9, 9, 41), { store: false, fileName: 'b.png' }),
      client.uploadFile(png(9, 9, 42), { store: false, fileName: 'c.png' }),
      client.uploadFile(png(9, 9, 43), { store: false, fileName: 'd.png' }),
    ]);
    const info = await fileInfo({ uuid: a.uuid, include: 'appdata' }, settings);
    assert.equal(info.uuid, a.uuid);
    assert.equal(info.size, a.size);
    assert.equal(info.datetimeStored, null);
    assert.deepEqual(info.metadata, { k: 'v' });
    assert.ok('appdata' in info);
    assert.equal(info.contentInfo.mime.mime, 'image/png');
    assert.equal(info.contentInfo.image.format, 'PNG');

    const stored = await storeFile({ uuid: a.uuid }, settings);
    assert.equal(stored.uuid, a.uuid);
    assert.match(stored.datetimeStored, ISO);

    const batch = await storeFiles({ uuids: [b.uuid, c.uuid, 'not-a-uuid'] }, settings);
    assert.equal(batch.status, 'ok');
    assert.deepEqual(batch.result.map((x) => x.uuid).sort(), [b.uuid, c.uuid].sort());
    assert.ok(batch.result.every((x) => ISO.test(x.datetimeStored)));
    assert.deepEqual(Object.keys(batch.problems), ['not-a-uuid']);

    const removed = await deleteFile({ uuid: a.uuid }, settings);
    assert.equal(removed.uuid, a.uuid);
    assert.match(removed.datetimeRemoved, ISO);

    const gone = await deleteFiles({ uuids: [b.uuid, d.uuid, '00000000-0000-4000-8000-000000000000'] }, settings);
    assert.equal(gone.status, 'ok');
    assert.deepEqual(gone.result.map((x) => x.uuid).sort(), [b.uuid, d.uuid].sort());
    assert.ok(gone.result.every((x) => ISO.test(x.datetimeRemoved)));
    assert.deepEqual(Object.keys(gone.problems), ['00000000-0000-4000-8000-000000000000']);

    // Not found: the client reports the server's 404 and its detail.
    await assert.rejects(fileInfo({ uuid: '00000000-0000-4000-8000-000000000000' }, settings), (e) => {
      assert.ok(e instanceof RestClientError, String(e));
      assert.equal(e.status, 404);
      assert.match(e.message, /^\[404[^\]]*\] \S/);
      return true;
    });
  });

  test(`rest-client (${scheme}): copies`, async () => {
    const src = await client.uploadFile(png(11, 7, 50), { store: true, fileName: 'orig.png' });
    const local = await copyFileToLocalStorage({ source: src.uuid, store: true, metadata: { copied: 'yes' } }, settings);
    assert.equal(local.type, 'file');
    assert.match(local.result.uuid, UUID);
    assert.notEqual(local.result.uuid, src.uuid);
    assert.equal(local.result.size, src.size);
    assert.match(local.result.datetimeStored, ISO);
    assert.deepEqual(local.result.metadata, { copied: 'yes' });
    const copyBytes = await download(`${base}/${local.result.uuid}/`);
    assert.equal(sha(copyBytes), sha(await download(src.cdnUrl)));

    // Remote copy to the signed project's custom storage.
    const signedSettings = settingsFor(scheme, SIGNED_PUB, SIGNED_SECRET);
    const sig = generateSecureSignature(SIGNED_SECRET, { lifetime: 60 * 1000 });
    const theirs = await signedClient.uploadFile(png(13, 5, 51), { ...sig, fileName: 'far.png', store: true });
    const remote = await copyFileToRemoteStorage({ source: theirs.uuid, target: 'copies', makePublic: true, pattern: `${scheme}-\${uuid}\${ext}` }, signedSettings);
    assert.equal(remote.type, 'url');
    assert.equal(remote.result, `file://${copies}/${scheme}-${theirs.uuid}.png`);
    assert.equal(sha(readFileSync(join(copies, `${scheme}-${theirs.uuid}.png`))), sha(await download(theirs.cdnUrl)));
    await assert.rejects(copyFileToRemoteStorage({ source: theirs.uuid, target: 'nowhere' }, signedSettings),
      (e) => e instanceof RestClientError && e.status === 400 && /storage/.test(e.message));
  });

  test(`rest-client (${scheme}): metadata and tags`, async () => {
    const f = await client.uploadFile(png(5, 5, 60), { store: true, fileName: 'meta.png', metadata: { first: '1' } });
    assert.equal(await updateMetadata({ uuid: f.uuid, key: 'color', value: 'red' }, settings), 'red');
    assert.equal(await updateMetadata({ uuid: f.uuid, key: 'color', value: 'blue' }, settings), 'blue');
    assert.deepEqual(await getMetadata({ uuid: f.uuid }, settings), { first: '1', color: 'blue' });
    assert.equal(await getMetadataValue({ uuid: f.uuid, key: 'first' }, settings), '1');
    assert.equal(await deleteMetadata({ uuid: f.uuid, key: 'first' }, settings), undefined);
    assert.deepEqual(await getMetadata({ uuid: f.uuid }, settings), { color: 'blue' });
    await assert.rejects(getMetadataValue({ uuid: f.uuid, key: 'first' }, settings),
      (e) => e instanceof RestClientError && e.status === 404);

    assert.deepEqual(await getTags({ uuid: f.uuid }, settings), { tags: [] });
    const replaced = await replaceTags({ uuid: f.uuid, tags: ['b', 'a'] }, settings);
    assert.deepEqual(replaced, { tags: ['b', 'a'], added: ['a', 'b'], deleted: [] });
    const updated = await updateTags({ uuid: f.uuid, add: ['c'], delete: ['b'] }, settings);
    assert.deepEqual(updated, { tags: ['a', 'c'], added: ['c'], deleted: ['b'] });
    assert.deepEqual(await getTags({ uuid: f.uuid }, settings), { tags: ['a', 'c'] });
  });

  test(`rest-client (${scheme}): groups`, async () => {
    const g1 = await client.uploadFileGroup([png(4, 4, 70), png(4, 5, 71)], { store: true });
    const g2 = await client.uploadFileGroup([png(4, 6, 72)], { store: true });
    const info = await groupInfo({ uuid: g1.uuid }, settings);
    assert.equal(info.id, g1.uuid);
    assert.equal(info.filesCount, 2);
    assert.deepEqual(info.files.map((x) => x.uuid), g1.files.map((x) => x.uuid));
    assert.match(info.datetimeCreated, ISO);
    assert.equal(info.cdnUrl, `${base}/${g1.uuid}/`);
    assert.equal(info.url, `${base}/groups/${g1.uuid}/`);

    const page = await listOfGroups({ limit: 1, ordering: '-datetime_created' }, settings);
    assert.equal(page.perPage, 1);
    assert.equal(page.results[0].id, g2.uuid);
    assert.ok(page.total >= 2);
    assert.ok(page.next.startsWith(`${base}/groups/?`), page.next);
    const ids = [];
    for await (const p of paginate(listOfGroups)({ limit: 1, ordering: '-datetime_created' }, settings)) {
      ids.push(...p.results.map((x) => x.id));
    }
    assert.equal(ids.length, page.total);
    assert.deepEqual(ids.slice(0, 2), [g2.uuid, g1.uuid]);
    const since = await listOfGroups({ from: new Date(Date.parse(info.datetimeCreated) - 1), ordering: 'datetime_created' }, settings);
    assert.deepEqual(since.results.map((x) => x.id).slice(0, 2), [g1.uuid, g2.uuid]);

    assert.equal(await deleteGroup({ uuid: g2.uuid }, settings), undefined);
    await assert.rejects(groupInfo({ uuid: g2.uuid }, settings), (e) => e instanceof RestClientError && e.status === 404);
  });

  test(`rest-client (${scheme}): webhooks`, async () => {
    const target = `${source.url}/hook-${scheme}`;
    const hook = await createWebhook({ targetUrl: target, event: 'file.uploaded', isActive: true, signingSecret: 'sekrit' }, settings);
    assert.equal(typeof hook.id, 'number');
    assert.equal(typeof hook.project, 'number');
    assert.equal(hook.targetUrl, target);
    assert.equal(hook.event, 'file.uploaded');
    assert.equal(hook.isActive, true);
    assert.equal(hook.version, '0.7');
    assert.match(hook.created, ISO);
    assert.match(hook.updated, ISO);
    await assert.rejects(createWebhook({ targetUrl: target, event: 'file.uploaded' }, settings),
      (e) => e instanceof RestClientError && e.status === 400);

    const list = await listOfWebhooks({}, settings);
    assert.ok(Array.isArray(list));
    assert.ok(list.some((x) => x.id === hook.id && x.targetUrl === target));

    const moved = await updateWebhook({ id: hook.id, targetUrl: `${target}/v2`, isActive: false }, settings);
    assert.equal(moved.id, hook.id);
    assert.equal(moved.targetUrl, `${target}/v2`);
    assert.equal(moved.isActive, false);
    // Fields left out keep their values.
    const again = await updateWebhook({ id: hook.id, isActive: true }, settings);
    assert.equal(again.targetUrl, `${target}/v2`);
    assert.equal(again.event, 'file.uploaded');
    assert.equal(again.isActive, true);

    assert.equal(await deleteWebhook({ targetUrl: `${target}/v2` }, settings), undefined);
    assert.ok(!(await listOfWebhooks({}, settings)).some((x) => x.id === hook.id));
  });

  // Throttling does not depend on the scheme: once, with the signed one.
  if (scheme === 'Uploadcare') test(`rest-client (${scheme}): throttled requests are retried after Retry-After`, async () => {
    const limited = await startLimited();
    try {
      const s = { ...settingsFor(scheme, limited.pub, limited.secret), apiBaseURL: `${limited.url}/` };
      // A raw burst is refused with 429, a JSON detail and Retry-After.
      const raw = await Promise.all(Array.from({ length: 6 }, async () => {
        const req = new Request(`${limited.url}/files/`, { headers: { 'Content-Type': 'application/json' } });
        return fetch(req.url, { headers: await s.authSchema.getHeaders(req) });
      }));
      const refused = raw.filter((r) => r.status === 429);
      assert.ok(refused.length > 0, raw.map((r) => r.status).join(' '));
      assert.match(refused[0].headers.get('retry-after'), /^[1-9]\d*$/);
      assert.equal(refused[0].headers.get('content-type'), 'application/vnd.uploadcare-v0.7+json');
      assert.equal(typeof (await refused[0].json()).detail, 'string');
      // The client waits and retries: a burst through it all succeeds.
      await new Promise((r) => setTimeout(r, 1100));
      const pages = await Promise.all(Array.from({ length: 6 }, () => listOfFiles({ limit: 1 }, s)));
      assert.ok(pages.every((p) => p.total === 0));
    } finally {
      await limited.stop();
    }
  });

  test(`rest-client (${scheme}): wrong keys`, async () => {
    await assert.rejects(listOfFiles({}, settingsFor(scheme, pub, 'wrong-secret')), (e) => {
      assert.ok(e instanceof RestClientError, String(e));
      assert.equal(e.status, 401);
      assert.match(e.message, /^\[401[^\]]*\] \S/);
      return true;
    });
  });
}

for (const scheme of Object.keys(schemes)) {
  test(`rest-client (${scheme}): searchFiles and paginate over it`, async () => {
    const settings = settingsFor(scheme);
    // A token of this run's own, so the other tests' files never match.
    const tok = `srch${randomBytes(4).toString('hex')}`;
    const up = (name, data, opts = {}) => client.uploadFile(data, { fileName: name, store: true, ...opts });
    const holiday = await up(`holiday-${tok}.png`, png(9, 9, 1), { metadata: { camera: 'Canon EOS' }, tags: ['cat', 'animal'] });
    const grapher = await up(`${tok.toUpperCase()}-grapher.png`, png(12, 12, 2), { tags: ['cat'] });
    const notes = await up(`notes-${tok}.txt`, Buffer.from('plain words'), { contentType: 'text/plain', metadata: { about: `about ${tok}` } });
    const removed = await up(`removed-${tok}.png`, png(5, 5, 3));
    await deleteFile({ uuid: removed.uuid }, settings);

    // Full text: case-insensitive substrings of filename, MIME type and
    // metadata values; the project's live files only.
    const all = await searchFiles({ query: tok, sort: [{ field: 'size', order: 'desc' }, { field: 'originalFilename' }] }, settings);
    assert.equal(all.total, 3);
    assert.equal(all.perPage, 20);
    assert.equal(all.next, null);
    assert.equal(all.previous, null);
    assert.deepEqual(new Set(all.results.map((f) => f.uuid)), new Set([holiday.uuid, grapher.uuid, notes.uuid]));
    const sizes = all.results.map((f) => f.size);
    assert.deepEqual(sizes, [...sizes].sort((a, b) => b - a));
    // Each result is the usual file object, plus its highlight (camelized,
    // metadata keys left alone).
    const g = all.results.find((f) => f.uuid === grapher.uuid);
    assert.equal(g.originalFilename, `${tok.toUpperCase()}-grapher.png`);
    assert.equal(g.isImage, true);
    assert.deepEqual(g.tags, ['cat']);
    assert.equal(g.url, `${base}/files/${grapher.uuid}/`);
    assert.deepEqual(g.highlight, { originalFilename: [`<em>${tok.toUpperCase()}</em>-grapher.png`] });
    assert.deepEqual(all.results.find((f) => f.uuid === notes.uuid).highlight,
      { originalFilename: [`notes-<em>${tok}</em>.txt`], metadata: { about: `about <em>${tok}</em>` } });

    // Every other condition, combined with AND.
    const names = async (opts) => (await searchFiles({ query: tok, ...opts }, settings)).results.map((f) => f.originalFilename).sort();
    assert.deepEqual(await names({ isImage: false }), [`notes-${tok}.txt`]);
    assert.deepEqual(await names({ tags: { all: ['cat', 'animal'] } }), [`holiday-${tok}.png`]);
    assert.deepEqual(await names({ tags: { any: ['cat'], none: ['animal'] } }), [`${tok.toUpperCase()}-grapher.png`]);
    assert.deepEqual(await names({ exact: { metadata: { camera: ['Canon EOS'] } } }), [`holiday-${tok}.png`]);
    assert.deepEqual(await names({ exact: { uuid: [notes.uuid, removed.uuid] } }), [`notes-${tok}.txt`]);
    assert.deepEqual(await names({ exact: { detectedMimeType: ['text/plain'] } }), [`notes-${tok}.txt`]);
    assert.deepEqual(await names({ size: { gte: grapher.size, lte: grapher.size } }), [`${tok.toUpperCase()}-grapher.png`]);
    assert.deepEqual(await names({ datetimeUploaded: { gt: new Date(Date.now() + 60000) } }), []);
    assert.deepEqual(await names({ datetimeUploaded: { gte: new Date(Date.now() - 3600000) }, phrase: { metadata: 'canon' } }), [`holiday-${tok}.png`]);
    // Fuzziness: one character off still matches.
    const typo = tok.slice(0, -1) + (tok.endsWith('x') ? 'y' : 'x');
    assert.equal((await searchFiles({ query: typo }, settings)).total, 0);
    assert.equal((await searchFiles({ query: typo, fuzziness: true }, settings)).total, 3);
    // include=appdata adds the appdata object.
    const withApp = await searchFiles({ exact: { uuid: [holiday.uuid] }, include: 'appdata' }, settings);
    assert.ok('appdata' in withApp.results[0]);

    // paginate follows next (offset links) through the whole result, each file once.
    const seen = [];
    let pages = 0;
    for await (const page of paginate(searchFiles)({ query: tok, limit: 2, sort: [{ field: 'datetimeUploaded', order: 'desc' }] }, settings)) {
      pages++;
      assert.equal(page.total, 3);
      seen.push(...page.results.map((f) => f.uuid));
    }
    assert.equal(pages, 2);
    assert.deepEqual(seen, [notes.uuid, grapher.uuid, holiday.uuid]);

    // Malformed searches: RestClientValidationError with the fields named.
    const invalid = async (opts, errors) => {
      await assert.rejects(searchFiles(opts, settings), (e) => {
        assert.ok(e instanceof RestClientValidationError, String(e));
        assert.ok(e instanceof RestClientError);
        assert.equal(e.status, 400);
        assert.deepEqual(e.errors, errors);
        return true;
      });
    };
    await invalid({ query: 'abc' }, { query: ['Must be at least 4 characters.'] });
    await invalid({ fuzziness: true }, { nonFieldErrors: ['At least one search condition is required: query, phrase, exact, datetime_uploaded, size, is_image, tags.'] });
    await invalid({ size: {} }, { size: ['At least one field is required.'] });
    await invalid({ query: tok, limit: 101 }, { limit: ['Ensure this value is less than or equal to 100.'] });
    await invalid({ query: tok, offset: 990 }, { offset: ['offset + limit must not exceed 1000.'] });
    await invalid({ phrase: { originalFilename: tok }, exact: { originalFilename: ['a.png'] } },
      { 'exact.originalFilename': ['Cannot be used together with phrase.original_filename.'] });
    await invalid({ query: tok, exact: { metadata: { camera: [] } } }, { 'exact.metadata[camera]': ['This list may not be empty.'] });
    await invalid({ query: tok, sort: ['size', 'score', 'originalFilename', 'datetimeUploaded', 'size'].map((field) => ({ field })) },
      { sort: ['Ensure this field has no more than 4 elements.'] });
    // Wrong keys: 401 as every call.
    await assert.rejects(searchFiles({ query: tok }, settingsFor(scheme, pub, 'wrong-secret')), (e) => e.status === 401);
  });
}

// The EICAR anti-virus test file, built here so the repository holds no copy.
const eicar = () => Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-' + 'TEST-FILE!$H+H*');

test('rest-client: uc_clamav_virus_scan add-on', async () => {
  const settings = settingsFor('Uploadcare.Simple');
  const bad = await client.uploadFile(eicar(), { fileName: 'eicar.com', store: true });
  const good = await client.uploadFile(png(7, 7, 80), { fileName: 'clean.png', store: true });

  // The poller: execute, wait for "done", read appdata.
  const statuses = [];
  const res = await addonJobPoller({
    addonName: AddonName.UC_CLAMAV_VIRUS_SCAN, target: bad.uuid, params: { purge_infected: false },
    onStatus: (s) => statuses.push(s.status), pollOptions: { interval: 200, timeout: 30000 },
  }, settings);
  assert.equal(res.error, false);
  assert.equal(res.result.data.infected, true);
  assert.match(res.result.data.infected_with, /EICAR/);
  assert.equal(typeof res.result.version, 'string');
  assert.match(res.result.datetime_created, ISO);
  assert.match(res.result.datetime_updated, ISO);
  assert.equal(statuses.at(-1), 'done');
  assert.ok(statuses.every((s) => s === 'in_progress' || s === 'done'), statuses.join(' '));

  // The single calls.
  const run = await executeAddon({ addonName: AddonName.UC_CLAMAV_VIRUS_SCAN, target: good.uuid }, settings);
  assert.match(run.requestId, UUID);
  let st;
  for (let i = 0; i < 150; i++) {
    st = await addonExecutionStatus({ addonName: AddonName.UC_CLAMAV_VIRUS_SCAN, requestId: run.requestId }, settings);
    if (st.status !== 'in_progress') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(st.status, 'done');
  const info = await fileInfo({ uuid: good.uuid, include: 'appdata' }, settings);
  assert.equal(info.appdata.uc_clamav_virus_scan.data.infected, false);

  // An unknown request id.
  const unknown = await addonExecutionStatus({ addonName: AddonName.UC_CLAMAV_VIRUS_SCAN, requestId: '00000000-0000-4000-8000-000000000000' }, settings)
    .catch((e) => e);
  assert.ok(unknown.status === 'unknown' || (unknown instanceof RestClientError && unknown.status === 404), String(unknown?.status));
});

test('rest-client: add-ons this server has not configured', async () => {
  const settings = settingsFor('Uploadcare');
  const f = await client.uploadFile(png(7, 7, 81), { fileName: 'x.png', store: true });
  for (const name of [AddonName.AWS_REKOGNITION_DETECT_LABELS, AddonName.AWS_REKOGNITION_DETECT_MODERATION_LABELS, AddonName.REMOVE_BG]) {
    await assert.rejects(executeAddon({ addonName: name, target: f.uuid }, settings), (e) => {
      assert.ok(e instanceof RestClientError, `${name}: ${e}`);
      assert.ok(e.status >= 400 && e.status < 500, `${name}: ${e.status}`);
      assert.match(e.message, /\] \S/);
      return true;
    });
  }
});

// fodt is a flat ODT document of n pages.
function fodt(n) {
  let body = '';
  for (let i = 1; i <= n; i++) {
    body += `<text:p text:style-name="${i > 1 ? 'Break' : 'Standard'}">Page ${i} of the test document.</text:p>`;
  }
  return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.2" office:mimetype="application/vnd.oasis.opendocument.text">
<office:automatic-styles>
<style:style style:name="Break" style:family="paragraph"><style:paragraph-properties fo:break-before="page"/></style:style>
</office:automatic-styles>
<office:body><office:text>${body}</office:text></office:body>
</office:document>
`);
}

test('rest-client: document conversion', async () => {
  const settings = settingsFor('Uploadcare.Simple');
  const doc = await client.uploadFile(fodt(2), { fileName: 'memo.fodt', contentType: 'application/vnd.oasis.opendocument.text', store: true });
  const info = await conversionInfo({ uuid: doc.uuid }, settings);
  assert.equal(info.error, null);
  assert.equal(typeof info.format.name, 'string');
  assert.ok(info.format.conversionFormats.some((x) => x.name === 'pdf'), JSON.stringify(info.format));
  assert.deepEqual(info.convertedGroups, {});

  const pdfPath = `${doc.uuid}/document/-/format/pdf/`;
  const jobs = await conversionJobPoller({
    type: ConversionType.DOCUMENT, paths: [pdfPath, 'not-a-file/document/-/format/pdf/'], store: true,
    pollOptions: { interval: 250, timeout: 120000 },
  }, settings);
  const [pdf, bad] = await Promise.all(jobs);
  assert.equal(pdf.status, 'finished', JSON.stringify(pdf));
  assert.equal(pdf.error, null);
  assert.match(pdf.result.uuid, UUID);
  assert.equal((await download(`${base}/${pdf.result.uuid}/`)).subarray(0, 5).toString(), '%PDF-');
  assert.equal(bad.status, 'failed');
  assert.equal(typeof bad.error, 'string');

  // convert + status one by one, all pages into a group.
  const res = await convert({ type: ConversionType.DOCUMENT, paths: [`${doc.uuid}/document/-/format/png/`], store: false, saveInGroup: true }, settings);
  assert.deepEqual(res.problems, {});
  assert.equal(res.result.length, 1);
  assert.equal(res.result[0].originalSource, `${doc.uuid}/document/-/format/png/`);
  assert.equal(typeof res.result[0].token, 'number');
  let st;
  for (let i = 0; i < 600; i++) {
    st = await conversionJobStatus({ type: ConversionType.DOCUMENT, token: res.result[0].token }, settings);
    if (st.status !== 'pending' && st.status !== 'processing') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(st.status, 'finished', JSON.stringify(st));
  assert.equal((await download(`${base}/${st.result.uuid}/`)).subarray(1, 4).toString(), 'PNG');
  const after = await conversionInfo({ uuid: doc.uuid }, settings);
  assert.match(after.convertedGroups.png ?? '', /~2$/, JSON.stringify(after));
});

test('rest-client: video conversion', async () => {
  const settings = settingsFor('Uploadcare');
  const dir = mkdtempSync(join(tmpdir(), 'satchel-clip-'));
  const clip = join(dir, 'clip.mp4');
  await promisify(execFile)('ffmpeg', ['-hide_banner', '-v', 'error', '-y',
    '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15:duration=1',
    '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', clip]);
  const data = readFileSync(clip);
  rmSync(dir, { recursive: true, force: true });
  const video = await client.uploadFile(data, { fileName: 'clip.mp4', contentType: 'video/mp4', store: true });
  assert.equal(video.contentInfo.video.video[0].width, 160);
  assert.equal(video.videoInfo.video.width, 160);

  const path = `${video.uuid}/video/-/size/x60/-/format/webm/-/thumbs~2/`;
  const jobs = await conversionJobPoller({
    type: ConversionType.VIDEO, paths: [path], store: true, pollOptions: { interval: 250, timeout: 120000 },
    onRun: (r) => {
      assert.equal(r.result[0].originalSource, path);
      assert.match(r.result[0].thumbnailsGroupUuid, /~2$/);
    },
  }, settings);
  const [done] = await Promise.all(jobs);
  assert.equal(done.status, 'finished', JSON.stringify(done));
  assert.match(done.result.uuid, UUID);
  assert.match(done.result.thumbnailsGroupUuid, /~2$/);
  const out = await download(`${base}/${done.result.uuid}/`);
  assert.equal(out.subarray(0, 4).toString('hex'), '1a45dfa3');
});

test('rest API: project info with the rest-client auth schemas', async () => {
  // The rest-client has no call for /project/; a user signs the request
  // with the client's own auth schema.
  for (const scheme of Object.keys(schemes)) {
    const { authSchema } = settingsFor(scheme);
    const req = new Request(`${base}/project/`, { headers: { 'Content-Type': 'application/json' } });
    const res = await fetch(`${base}/project/`, { headers: await authSchema.getHeaders(req) });
    assert.equal(res.status, 200, scheme);
    assert.equal(res.headers.get('content-type'), 'application/vnd.uploadcare-v0.7+json');
    const p = await res.json();
    assert.equal(p.pub_key, pub);
    assert.equal(p.name, 'clients');
    assert.equal(p.autostore_enabled, true);
    assert.ok(Array.isArray(p.collaborators));
  }
});
