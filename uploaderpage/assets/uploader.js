// <satchel-uploader>: a small file uploader for Satchel's Upload API.
//
//   <script src="http://satchel.example/uploader/uploader.js"></script>
//   <satchel-uploader pub-key="demopublickey" multiple></satchel-uploader>
//
// Attributes:
//   pub-key      the project's public key (required)
//   base-url     the Upload API base (default: where this script was loaded from)
//   cdn-base     the CDN base of the links (default: base-url)
//   multiple     accept several files
//   group        with multiple: make a group of the uploaded files; the value is its CDN URL
//   images-only  accept images only
//   max-size     largest file in bytes (checked before upload; the server checks again)
//   crop         "W:H" for images: the value gets a centred crop to that ratio
//   store        "auto" (default), "1" or "0"
//   input        id of an <input> (usually hidden) that receives the value
//   name         with no input: the element itself is a form field of that name
//
// The value is the file's CDN URL (with the crop, if any), newline-separated
// URLs with multiple, or the group's CDN URL with group. Events (bubbling):
// "satchel-upload" (detail: one file), "satchel-change" (detail: {value, files}),
// "satchel-error" (detail: {name, error}).
(() => {
  'use strict';
  if (customElements.get('satchel-uploader')) return;

  const scriptSrc = document.currentScript && document.currentScript.src;
  const defaultBase = scriptSrc ? new URL('../', scriptSrc).href : location.origin + '/';
  const MULTIPART_MIN = 10485760; // the Upload API's smallest multipart upload
  const PART_SIZE = 5242880;
  const PARALLEL_PARTS = 4;
  const PART_TRIES = 3;

  class Cancelled extends Error {
    constructor() { super('Cancelled'); }
  }
  class UploadError extends Error {
    constructor(message, code, retryAfter) {
      super(message);
      this.code = code || '';
      this.retryAfter = retryAfter || 0;
    }
  }

  const sleep = (ms, item) => new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    if (item) item.timers.add({ cancel: () => { clearTimeout(t); reject(new Cancelled()); } });
  });

  function formatSize(n) {
    if (n < 1024) return n + ' B';
    if (n < 1048576) return (n / 1024).toFixed(1) + ' KB';
    if (n < 1073741824) return (n / 1048576).toFixed(1) + ' MB';
    return (n / 1073741824).toFixed(2) + ' GB';
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  let nextID = 1;

  class SatchelUploader extends HTMLElement {
    static get formAssociated() { return true; }
    static get observedAttributes() { return ['multiple', 'images-only']; }

    constructor() {
      super();
      this.items = [];
      this.groupValue = '';
      this.groupFor = '';
      this.internals = this.attachInternals ? this.attachInternals() : null;
      this.onPaste = this.onPaste.bind(this);
    }

    get baseURL() { return (this.getAttribute('base-url') || defaultBase).replace(/\/+$/, '') + '/'; }
    get cdnBase() { return (this.getAttribute('cdn-base') || this.baseURL).replace(/\/+$/, '') + '/'; }
    get pubKey() { return (this.getAttribute('pub-key') || '').trim(); }
    get multiple() { return this.hasAttribute('multiple'); }
    get imagesOnly() { return this.hasAttribute('images-only'); }
    get store() { return this.getAttribute('store') || 'auto'; }
    /** The current value (see the header comment). */
    get value() { return this.computeValue(); }

    connectedCallback() {
      if (!this.shadowRoot) this.build();
      document.addEventListener('paste', this.onPaste);
    }

    disconnectedCallback() {
      document.removeEventListener('paste', this.onPaste);
    }

    attributeChangedCallback() {
      if (this.fileInput) this.syncInput();
    }

    build() {
      const root = this.attachShadow({ mode: 'open' });
      root.append(el('link', { rel: 'stylesheet', href: new URL('uploader/uploader.css', this.baseURL).href }));
      this.fileInput = el('input', { type: 'file', part: 'file-input', class: 'file-input', id: 'chooser' });
      this.fileInput.addEventListener('change', () => {
        this.addFiles(this.fileInput.files);
        this.fileInput.value = '';
      });
      this.syncInput();
      this.urlInput = el('input', { type: 'url', placeholder: 'https://example.com/picture.jpg', 'aria-label': 'File URL', class: 'url-input' });
      const urlForm = el('form', { class: 'url-form', part: 'url-form' },
        this.urlInput, el('button', { type: 'submit', class: 'url-button' }, 'Upload from URL'));
      urlForm.addEventListener('submit', (e) => {
        e.preventDefault();
        const u = this.urlInput.value.trim();
        if (u) {
          this.addURL(u);
          this.urlInput.value = '';
        }
      });
      this.drop = el('div', { class: 'drop', part: 'drop', tabindex: '0', role: 'group', 'aria-label': 'Upload files' },
        el('p', { class: 'hint' }, 'Drop files here, paste them, or ',
          el('label', { for: 'chooser', class: 'choose' }, 'choose files'), this.fileInput),
        urlForm);
      // Keyboard: Enter or Space on the focused drop zone opens the chooser.
      this.drop.addEventListener('keydown', (e) => {
        if (e.target === this.drop && (e.key === 'Enter' || e.key === ' ')) {
          e.preventDefault();
          this.fileInput.click();
        }
      });
      this.drop.addEventListener('dragenter', (e) => { e.preventDefault(); this.drop.classList.add('over'); });
      this.drop.addEventListener('dragover', (e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; });
      this.drop.addEventListener('dragleave', (e) => { if (!this.drop.contains(e.relatedTarget)) this.drop.classList.remove('over'); });
      this.drop.addEventListener('drop', (e) => {
        e.preventDefault();
        this.drop.classList.remove('over');
        const dt = e.dataTransfer;
        if (!dt) return;
        if (dt.files && dt.files.length) this.addFiles(dt.files);
        else {
          const u = (dt.getData('text/uri-list') || dt.getData('text/plain') || '').split('\n')[0].trim();
          if (/^https?:\/\//i.test(u)) this.addURL(u);
        }
      });
      this.list = el('ul', { class: 'list', part: 'list', 'aria-live': 'polite' });
      this.status = el('p', { class: 'status', part: 'status', role: 'status' });
      root.append(this.drop, this.status, this.list);
      if (!this.pubKey) this.status.textContent = 'Set a public key to upload.';
    }

    syncInput() {
      this.fileInput.multiple = this.multiple;
      if (this.imagesOnly) this.fileInput.accept = 'image/*';
      else if (this.getAttribute('accept')) this.fileInput.accept = this.getAttribute('accept');
      else this.fileInput.removeAttribute('accept');
    }

    // A paste goes to this element when focus is inside it, or when it is the
    // only uploader on the page and the paste is not aimed at a text field.
    onPaste(e) {
      const files = e.clipboardData && e.clipboardData.files;
      const text = e.clipboardData ? e.clipboardData.getData('text/plain').trim() : '';
      const inside = this.contains(document.activeElement) || document.activeElement === this;
      const t = e.target;
      const textField = t && (t.isContentEditable || /^(INPUT|TEXTAREA)$/.test(t.tagName));
      if (!inside && (textField || document.querySelectorAll('satchel-uploader').length !== 1)) return;
      if (files && files.length) {
        e.preventDefault();
        this.addFiles(files);
      } else if (inside && /^https?:\/\/\S+$/i.test(text) && !textField) {
        e.preventDefault();
        this.addURL(text);
      }
    }

    addFiles(fileList) {
      let files = Array.from(fileList || []);
      if (!this.multiple) {
        files = files.slice(0, 1);
        this.clearDone();
      }
      for (const f of files) this.addItem({ file: f, name: f.name || 'pasted-file', size: f.size });
    }

    addURL(u) {
      if (!this.multiple) this.clearDone();
      let name = u;
      try { name = decodeURIComponent(new URL(u).pathname.split('/').pop()) || u; } catch (_) { /* keep the URL */ }
      this.addItem({ url: u, name, size: 0 });
    }

    clearDone() {
      for (const it of this.items) this.cancel(it);
      this.items = [];
      this.list.replaceChildren();
      this.changed();
    }

    addItem(src) {
      const item = Object.assign({ id: nextID++, state: 'queued', loaded: 0, xhrs: new Set(), timers: new Set(), info: null }, src);
      this.items.push(item);
      this.renderItem(item);
      this.start(item);
    }

    check(item) {
      const max = parseInt(this.getAttribute('max-size') || '0', 10);
      if (item.file && max > 0 && item.size > max) return `File is too large (${formatSize(item.size)}, at most ${formatSize(max)}).`;
      if (item.file && this.imagesOnly && item.file.type && !item.file.type.startsWith('image/')) return 'Only images are accepted.';
      if (!this.pubKey) return 'No public key set.';
      return '';
    }

    async start(item) {
      const problem = this.check(item);
      if (problem) return this.fail(item, new UploadError(problem));
      item.state = 'uploading';
      item.loaded = 0;
      item.cancelled = false;
      item.error = '';
      this.renderItem(item);
      this.showStatus();
      try {
        let info;
        if (item.url) info = await this.fromURL(item);
        else if (item.size >= MULTIPART_MIN) info = await this.multipart(item);
        else info = await this.direct(item);
        if (this.imagesOnly && !info.is_image) throw new UploadError('Only images are accepted.');
        item.info = info;
        item.uuid = info.uuid || info.file_id;
        item.cdnURL = this.cdnBase + item.uuid + '/' + this.cropOps(info);
        item.state = 'done';
        item.loaded = item.size = info.size || item.size;
        this.renderItem(item);
        this.dispatchEvent(new CustomEvent('satchel-upload', { bubbles: true, composed: true, detail: this.describe(item) }));
        this.changed();
      } catch (err) {
        if (err instanceof Cancelled || item.cancelled) {
          item.state = 'cancelled';
          item.error = 'Cancelled';
          this.renderItem(item);
          this.changed();
          return;
        }
        this.fail(item, err);
      }
    }

    fail(item, err) {
      item.state = 'error';
      item.error = err.message || String(err);
      this.renderItem(item);
      this.dispatchEvent(new CustomEvent('satchel-error', { bubbles: true, composed: true, detail: { name: item.name, error: item.error, code: err.code || '' } }));
      this.changed();
    }

    cropOps(info) {
      const crop = (this.getAttribute('crop') || '').trim();
      if (!crop || !info.is_image || !/^\d+:\d+$/.test(crop)) return '';
      return `-/crop/${crop}/center/`;
    }

    cancel(item) {
      if (item.state !== 'uploading' && item.state !== 'queued') return;
      item.cancelled = true;
      for (const x of item.xhrs) x.abort();
      for (const t of item.timers) t.cancel();
      item.timers.clear();
    }

    remove(item) {
      this.cancel(item);
      this.items = this.items.filter((i) => i !== item);
      const li = this.list.querySelector(`[data-id="${item.id}"]`);
      if (li) li.remove();
      this.changed();
    }

    describe(item) {
      const i = item.info || {};
      return { uuid: item.uuid, cdnUrl: item.cdnURL, name: i.original_filename || item.name, size: i.size || item.size, mimeType: i.mime_type || '', isImage: !!i.is_image };
    }

    // request sends one XHR that cancel() can abort.
    request(item, method, url, body, headers, onProgress) {
      return new Promise((resolve, reject) => {
        if (item.cancelled) return reject(new Cancelled());
        const xhr = new XMLHttpRequest();
        item.xhrs.add(xhr);
        xhr.open(method, url);
        for (const [k, v] of Object.entries(headers || {})) xhr.setRequestHeader(k, v);
        if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
        xhr.onload = () => { item.xhrs.delete(xhr); resolve(xhr); };
        xhr.onerror = () => { item.xhrs.delete(xhr); reject(new UploadError('Network error', 'NetworkError')); };
        xhr.onabort = () => { item.xhrs.delete(xhr); reject(new Cancelled()); };
        xhr.send(body);
      });
    }

    // api calls the Upload API and returns its JSON; errors come back as
    // JSON bodies (jsonerrors=1) and throttling is waited out.
    async api(item, method, path, params, body, onProgress) {
      const q = new URLSearchParams(params || {});
      q.set('jsonerrors', '1');
      const url = this.baseURL + path + '?' + q.toString();
      for (let attempt = 0; ; attempt++) {
        const xhr = await this.request(item, method, url, body, null, onProgress);
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        const e = data && data.error;
        if (e || xhr.status !== 200) {
          const msg = e ? (e.content || String(e)) : (xhr.responseText || '').trim() || `HTTP ${xhr.status}`;
          const code = e ? e.error_code : '';
          const wait = parseInt(xhr.getResponseHeader('Retry-After') || '', 10);
          if ((code === 'RequestThrottledError' || xhr.status === 429 || xhr.status === 503) && attempt < 5) {
            await sleep((wait > 0 ? wait : 2) * 1000, item);
            continue;
          }
          throw new UploadError(msg, code);
        }
        return data;
      }
    }

    async waitReady(item, info) {
      for (let i = 0; !info.is_ready; i++) {
        if (i > 600) throw new UploadError('The file did not become ready.');
        await sleep(500, item);
        info = await this.api(item, 'GET', 'info/', { pub_key: this.pubKey, file_id: info.uuid || info.file_id });
      }
      return info;
    }

    async direct(item) {
      const fd = new FormData();
      fd.append('UPLOADCARE_PUB_KEY', this.pubKey);
      fd.append('UPLOADCARE_STORE', this.store);
      fd.append('file', item.file, item.name);
      const res = await this.api(item, 'POST', 'base/', null, fd, (n) => this.progress(item, Math.min(n, item.size)));
      const info = await this.api(item, 'GET', 'info/', { pub_key: this.pubKey, file_id: res.file });
      return this.waitReady(item, info);
    }

    async multipart(item) {
      const type = item.file.type || 'application/octet-stream';
      const fd = new FormData();
      fd.append('UPLOADCARE_PUB_KEY', this.pubKey);
      fd.append('UPLOADCARE_STORE', this.store);
      fd.append('filename', item.name);
      fd.append('size', String(item.size));
      fd.append('content_type', type);
      fd.append('part_size', String(PART_SIZE));
      const start = await this.api(item, 'POST', 'multipart/start/', null, fd);
      const parts = start.parts;
      const done = new Array(parts.length).fill(0);
      let next = 0;
      const worker = async () => {
        while (next < parts.length) {
          const i = next++;
          const blob = item.file.slice(i * PART_SIZE, Math.min((i + 1) * PART_SIZE, item.size));
          for (let attempt = 1; ; attempt++) {
            try {
              const xhr = await this.request(item, 'PUT', parts[i], blob, { 'Content-Type': type }, (n) => {
                done[i] = n;
                this.progress(item, done.reduce((a, b) => a + b, 0));
              });
              if (xhr.status !== 200) throw new UploadError(`Part ${i + 1}: HTTP ${xhr.status} ${(xhr.responseText || '').trim()}`);
              done[i] = blob.size;
              break;
            } catch (err) {
              if (err instanceof Cancelled || attempt >= PART_TRIES) throw err;
              await sleep(1000 * attempt, item);
            }
          }
        }
      };
      const workers = [];
      for (let w = 0; w < Math.min(PARALLEL_PARTS, parts.length); w++) workers.push(worker());
      try {
        await Promise.all(workers);
      } catch (err) {
        this.cancelParts(item);
        throw err;
      }
      const cf = new FormData();
      cf.append('UPLOADCARE_PUB_KEY', this.pubKey);
      cf.append('uuid', start.uuid);
      const info = await this.api(item, 'POST', 'multipart/complete/', null, cf);
      return this.waitReady(item, info);
    }

    cancelParts(item) {
      for (const x of item.xhrs) x.abort();
    }

    async fromURL(item) {
      const res = await this.api(item, 'POST', 'from_url/', { pub_key: this.pubKey, source_url: item.url, store: this.store });
      if (res.type === 'file_info') return this.waitReady(item, res);
      for (;;) {
        await sleep(500, item);
        const st = await this.api(item, 'GET', 'from_url/status/', { token: res.token });
        if (st.status === 'success') return this.waitReady(item, st);
        if (st.status === 'progress' && typeof st.total === 'number' && st.total > 0) {
          item.size = st.total;
          this.progress(item, st.done);
        } else if (st.status === 'error' || st.status === 'failed') {
          throw new UploadError(st.error || 'The download failed.', st.error_code);
        } else if (st.status === 'unknown') {
          throw new UploadError('The download was lost.');
        }
      }
    }

    progress(item, loaded) {
      item.loaded = loaded;
      const li = this.list.querySelector(`[data-id="${item.id}"]`);
      if (!li) return;
      const bar = li.querySelector('progress');
      if (bar && item.size > 0) {
        bar.max = item.size;
        bar.value = Math.min(loaded, item.size);
        bar.textContent = Math.round(100 * bar.value / item.size) + '%';
      }
      const pct = li.querySelector('.pct');
      if (pct && item.size > 0) pct.textContent = Math.round(100 * Math.min(loaded, item.size) / item.size) + '%';
    }

    renderItem(item) {
      let li = this.list.querySelector(`[data-id="${item.id}"]`);
      if (!li) {
        li = el('li', { 'data-id': String(item.id), part: 'item' });
        this.list.append(li);
      }
      li.className = 'item state-' + item.state;
      li.dataset.state = item.state;
      const name = el('span', { class: 'name', title: item.name }, item.name);
      const size = el('span', { class: 'size' }, item.size ? formatSize(item.size) : '');
      const row = [name, size];
      if (item.state === 'uploading' || item.state === 'queued') {
        const bar = el('progress', { 'aria-label': `Uploading ${item.name}` });
        if (item.size > 0) {
          bar.max = item.size;
          bar.value = Math.min(item.loaded, item.size);
        }
        row.push(bar, el('span', { class: 'pct' }, ''),
          el('button', { type: 'button', class: 'cancel', onclick: () => this.cancel(item) }, 'Cancel'));
      } else if (item.state === 'done') {
        const info = item.info || {};
        if (info.is_image) {
          row.unshift(el('img', { class: 'thumb', alt: '', src: item.cdnURL + '-/preview/96x96/' }));
        }
        row.push(el('a', { class: 'link', href: item.cdnURL, target: '_blank', rel: 'noopener' }, item.cdnURL),
          el('button', { type: 'button', class: 'remove', onclick: () => this.remove(item) }, 'Remove'));
      } else {
        row.push(el('span', { class: 'error', role: 'alert' }, item.error),
          el('button', { type: 'button', class: 'retry', onclick: () => this.start(item) }, 'Retry'),
          el('button', { type: 'button', class: 'remove', onclick: () => this.remove(item) }, 'Remove'));
      }
      li.replaceChildren(...row);
      if (item.state === 'uploading') this.progress(item, item.loaded);
    }

    showStatus() {
      const n = this.items.filter((i) => i.state === 'done').length;
      const busy = this.items.filter((i) => i.state === 'uploading').length;
      this.status.textContent = busy ? `Uploading ${busy} file(s)…` : (n ? `${n} file(s) uploaded.` : '');
      this.dataset.busy = busy ? 'true' : 'false';
    }

    computeValue() {
      const done = this.items.filter((i) => i.state === 'done');
      if (this.hasAttribute('group') && this.multiple) {
        const key = done.map((i) => i.uuid).join(',');
        return key && key === this.groupFor ? this.groupValue : '';
      }
      return done.map((i) => i.cdnURL).join('\n');
    }

    // changed publishes the value; with group, a group of the finished files
    // is made once nothing is in progress.
    async changed() {
      if (this.hasAttribute('group') && this.multiple) {
        const busy = this.items.some((i) => i.state === 'uploading');
        const done = this.items.filter((i) => i.state === 'done');
        const key = done.map((i) => i.uuid).join(',');
        if (!busy && key && key !== this.groupFor) {
          try {
            const q = new URLSearchParams({ pub_key: this.pubKey, jsonerrors: '1' });
            done.forEach((i, n) => q.append(`files[${n}]`, i.uuid + '/'));
            const r = await fetch(this.baseURL + 'group/', { method: 'POST', body: q });
            const g = await r.json();
            if (g.error) throw new UploadError(g.error.content || 'Could not make a group.');
            const now = this.items.filter((i) => i.state === 'done').map((i) => i.uuid).join(',');
            if (now !== key) return; // changed meanwhile; a later call makes the group
            this.groupFor = key;
            this.groupValue = this.cdnBase + g.id + '/';
          } catch (err) {
            this.status.textContent = err.message || String(err);
            return;
          }
        }
      }
      const value = this.computeValue();
      const inputID = this.getAttribute('input');
      const input = inputID ? document.getElementById(inputID) : null;
      if (input) {
        input.value = value;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      } else if (this.internals && this.internals.setFormValue) {
        this.internals.setFormValue(value);
      }
      this.showStatus();
      this.dispatchEvent(new CustomEvent('satchel-change', { bubbles: true, composed: true, detail: { value, files: this.items.filter((i) => i.state === 'done').map((i) => this.describe(i)) } }));
    }
  }

  customElements.define('satchel-uploader', SatchelUploader);
})();
