// IotOta console: plain JavaScript against the gateway's REST API (cookie session from POST /api/login; every
// state-changing request carries the antiforgery token from GET /api/antiforgery). Built for fleets of thousands:
// devices are paged, filtered and searched on the server; groups are shown aggregated.
'use strict';
const $ = (sel) => document.querySelector(sel);
let currentRollout = null;
let events = null;
let fleetTimer = null;
let csrf = null;
const devicePage = { offset: 0 };
const auditPage = { offset: 0, limit: 25 };

function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
function bytes(n) {
  if (n == null) return '–';
  if (n >= 1048576) return (n / 1048576).toFixed(2) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return n + ' B';
}
function when(t) { return t ? new Date(t).toLocaleString() : '–'; }
function showError(text) {
  const e = $('#error');
  e.textContent = text;
  e.hidden = false;
}
function clearError() { $('#error').hidden = true; $('#error').textContent = ''; }

// Every API call: JSON in and out; a problem body (RFC 9457) becomes a plain message in the page.
async function api(method, path, body, isForm, retried) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
  if (method !== 'GET' && path !== '/api/login') {
    if (!csrf && path !== '/api/logout') csrf = (await api('GET', '/api/antiforgery')).token;
    if (csrf) opts.headers['X-CSRF-TOKEN'] = csrf;
  }
  if (body !== undefined) {
    if (isForm) opts.body = body;
    else { opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json'; }
  }
  let res;
  try {
    res = await fetch(path, opts);
  } catch (e) {
    throw new Error(`${method} ${path}: the gateway did not answer (${e.message})`);
  }
  if (res.status === 401 && path !== '/api/login') { showLogin(); throw new Error('please log in'); }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (res.status === 403 && data && data.title === 'Antiforgery token refused' && !retried) {
    csrf = null; // a new session needs a new token: fetch it once and try again
    return api(method, path, body, isForm, true);
  }
  if (!res.ok) {
    const title = data && data.title ? data.title : res.statusText;
    const detail = data && data.detail ? `: ${data.detail}` : '';
    throw new Error(`${method} ${path} failed with ${res.status} ${title}${detail}`);
  }
  return data;
}
async function guarded(fn) {
  try { clearError(); await fn(); } catch (e) { if (e.message !== 'please log in') showError(e.message); }
}

function showLogin() {
  $('#login-view').hidden = false;
  $('#app-view').hidden = true;
  $('#logout').hidden = true;
  $('#whoami').textContent = '';
  csrf = null;
  if (fleetTimer) { clearInterval(fleetTimer); fleetTimer = null; }
  if (events) { events.close(); events = null; }
}
async function showApp(user) {
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  $('#logout').hidden = false;
  $('#whoami').textContent = `signed in as ${user}`;
  csrf = null;
  await guarded(refreshAll);
  if (!fleetTimer) fleetTimer = setInterval(() => guarded(refreshFleet), 5000);
  const active = (await api('GET', '/api/rollouts').catch(() => [])).find((r) => r.state === 'running' || r.state === 'paused');
  if (active) watch(active.id);
}

async function refreshAll() { await Promise.all([refreshFleet(), refreshImages(), refreshRollouts(), refreshAudit()]); }
async function refreshFleet() { await Promise.all([refreshGroups(), refreshDevices()]); }

function counts(o) { return Object.entries(o).map(([k, n]) => `${esc(k)} × ${n}`).join(', '); }

async function refreshGroups() {
  const groups = await api('GET', '/api/groups');
  const devices = groups.reduce((s, g) => s + g.devices, 0), online = groups.reduce((s, g) => s + g.online, 0);
  $('#fleet-summary').textContent = `${devices} devices known, ${online} online, ${groups.length} groups`;
  $('#groups-table tbody').innerHTML = groups.map((g) => `<tr data-group="${g.groupId}"><td>${g.groupId}</td><td>${g.devices}</td><td>${g.online}</td>` +
    `<td class="text">${counts(g.versions)}</td><td class="text">${counts(g.states)}</td>` +
    `<td><button type="button" class="show-group" data-group="${g.groupId}">devices</button></td></tr>`).join('');
}

function setOptions(sel, values, label) {
  const keep = sel.value;
  sel.innerHTML = `<option value="">${label}</option>` + values.map((v) => `<option value="${esc(v)}">${esc(v)}</option>`).join('');
  sel.value = values.map(String).includes(keep) ? keep : '';
}

async function refreshDevices() {
  const limit = Number($('#page-size').value);
  const q = new URLSearchParams({ offset: devicePage.offset, limit });
  for (const [id, key] of [['#filter-group', 'group'], ['#filter-state', 'state'], ['#filter-version', 'version'], ['#filter-online', 'online'], ['#filter-q', 'q']]) {
    const v = $(id).value.trim();
    if (v) q.set(key, v);
  }
  const page = await api('GET', `/api/devices/page?${q}`);
  if (page.offset > 0 && page.offset >= page.matching) { devicePage.offset = 0; return refreshDevices(); }
  setOptions($('#filter-group'), page.groups, 'all');
  setOptions($('#filter-state'), page.states, 'all');
  setOptions($('#filter-version'), page.versions, 'all');
  const last = Math.min(page.offset + page.items.length, page.matching);
  $('#page-info').textContent = page.matching ? `${page.offset + 1}–${last} of ${page.matching} matching (${page.total} devices)` : `no device matches (${page.total} devices)`;
  $('#page-prev').disabled = page.offset === 0;
  $('#page-next').disabled = last >= page.matching;
  $('#devices-table tbody').innerHTML = page.items.map((d) => {
    const o = d.overhead;
    return `<tr><td>${d.nodeId}</td><td>${d.groupId}</td><td>${d.online ? 'yes' : 'no'}</td><td>${esc(d.version)}</td><td>${esc(d.state)}</td>` +
      `<td>${d.heldPackets}/${d.chunkCount}</td><td>${d.inFlight}</td><td>${o ? o.overheadMs.toFixed(1) : '–'}</td><td>${o ? o.lastOverheadMs.toFixed(1) : '–'}</td>` +
      `<td>${o ? o.arrivalMs.toFixed(1) : '–'}</td><td>${o ? bytes(o.forwardBytesPerSecond) + '/s' : '–'}</td><td>${o ? o.notices : 0}</td>` +
      `<td>${new Date(d.lastSeen).toLocaleTimeString()}</td></tr>`;
  }).join('');
}

async function refreshImages() {
  const images = await api('GET', '/api/images');
  $('#images-table tbody').innerHTML = images.map((i) => `<tr data-id="${esc(i.id)}"><td>${esc(i.id)}</td><td>${esc(i.version)}</td><td>${esc(i.board)}</td>` +
    `<td>${i.size}</td><td>${i.chunkCount}</td><td title="${esc(i.sha256)}">${esc(i.sha256.slice(0, 12))}…</td><td>${new Date(i.uploadedAt).toLocaleTimeString()}</td>` +
    `<td><button class="delete-image" data-id="${esc(i.id)}">Delete</button></td></tr>`).join('');
  const sel = $('#rollout-image');
  const keep = sel.value;
  sel.innerHTML = images.map((i) => `<option value="${esc(i.id)}">${esc(i.version)} (${esc(i.board)}, ${bytes(i.size)}, ${esc(i.id)})</option>`).join('');
  if (images.some((i) => i.id === keep)) sel.value = keep;
  else if (images.length) sel.value = images[images.length - 1].id;
}

// History: newest first, with the counts each rollout had when it ended (frozen by the gateway).
async function refreshRollouts() {
  const list = (await api('GET', '/api/rollouts')).slice().reverse();
  $('#rollout-history tbody').innerHTML = list.map((r) => `<tr data-rollout-row="${esc(r.id)}"><td><a href="#" data-rollout="${esc(r.id)}">${esc(r.id)}</a></td>` +
    `<td>${esc(r.version)}</td><td>${esc(r.state)}</td><td>${r.updated}</td><td>${r.failed}</td><td>${r.devices}</td><td>${when(r.createdAt)}</td>` +
    `<td>${when(r.endedAt)}</td><td class="text">${esc(r.message || '')}</td></tr>`).join('');
}

async function refreshAudit() {
  const page = await api('GET', `/api/audit?offset=${auditPage.offset}&limit=${auditPage.limit}`);
  $('#audit-info').textContent = page.total ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : 'nothing yet';
  $('#audit-prev').disabled = page.offset === 0;
  $('#audit-next').disabled = page.offset + page.items.length >= page.total;
  $('#audit-table tbody').innerHTML = page.items.map((a) => `<tr><td>${when(a.at)}</td><td>${esc(a.actor)}</td><td>${esc(a.action)}</td>` +
    `<td>${esc(a.target || '')}</td><td class="text">${esc(a.detail || '')}</td><td>${esc(a.client || '')}</td></tr>`).join('');
}

function watch(id) {
  currentRollout = id;
  $('#live').hidden = false;
  $('#live-id').textContent = id;
  if (events) events.close();
  events = new EventSource(`/api/rollouts/${encodeURIComponent(id)}/events`);
  events.addEventListener('progress', (e) => render(JSON.parse(e.data)));
  events.addEventListener('end', (e) => { render(JSON.parse(e.data)); events.close(); events = null; guarded(refreshAll); });
  events.onerror = () => { if (events && events.readyState === EventSource.CLOSED) showError(`the event stream of rollout ${id} closed`); };
}

async function control(action) {
  if (!currentRollout) return;
  await guarded(async () => { render(await api('POST', `/api/rollouts/${encodeURIComponent(currentRollout)}/${action}`)); await refreshAudit(); });
}

// The rollout request from the form: every input names its CreateRolloutRequest property (data-field).
function rolloutRequest() {
  const req = {};
  for (const el of document.querySelectorAll('#rollout-form [data-field]')) {
    const text = el.value.trim(), kind = el.dataset.kind, name = el.dataset.field;
    if (kind === 'ints') {
      const list = text && text !== 'all' ? text.split(',').map((s) => Number(s.trim())) : [];
      if (list.some((n) => !Number.isInteger(n))) throw new Error(`${name} must be whole numbers separated by commas, not "${text}"`);
      if (list.length) req[name] = list;
    } else if (kind === 'int' || kind === 'number') {
      if (text === '') continue;
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) throw new Error(`${name} must be a ${kind === 'int' ? 'whole ' : ''}number, not "${text}"`);
      req[name] = n;
    } else req[name] = text;
  }
  return req;
}

document.addEventListener('DOMContentLoaded', async () => {
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    await guarded(async () => {
      const res = await api('POST', '/api/login', { user: $('#login-user').value, password: $('#login-password').value });
      $('#login-password').value = '';
      await showApp(res.user);
    });
  });
  $('#logout').addEventListener('click', async () => { await guarded(() => api('POST', '/api/logout')); showLogin(); });
  $('#upload-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    await guarded(async () => {
      const fd = new FormData();
      const f = $('#upload-file').files[0];
      if (f) fd.append('file', f);
      fd.append('version', $('#upload-version').value);
      fd.append('board', $('#upload-board').value);
      const img = await api('POST', '/api/images', fd, true);
      await Promise.all([refreshImages(), refreshAudit()]);
      $('#rollout-image').value = img.id;
    });
  });
  $('#images-table').addEventListener('click', async (e) => {
    const id = e.target.dataset && e.target.dataset.id;
    if (!id || !e.target.classList.contains('delete-image')) return;
    await guarded(async () => { await api('DELETE', `/api/images/${encodeURIComponent(id)}`); await Promise.all([refreshImages(), refreshAudit()]); });
  });
  $('#rollout-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    await guarded(async () => {
      const start = $('#rollout-start-now').checked;
      const r = await api('POST', start ? '/api/rollouts?start=true' : '/api/rollouts', rolloutRequest());
      await Promise.all([refreshRollouts(), refreshAudit()]);
      watch(r.id);
    });
  });
  $('#rollout-history').addEventListener('click', (e) => {
    const id = e.target.dataset && e.target.dataset.rollout;
    if (id) { e.preventDefault(); watch(id); }
  });
  $('#groups-table').addEventListener('click', (e) => {
    const g = e.target.dataset && e.target.dataset.group;
    if (!g || !e.target.classList.contains('show-group')) return;
    $('#filter-group').value = g;
    devicePage.offset = 0;
    guarded(refreshDevices);
  });
  let searchTimer = null;
  $('#device-filter').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { devicePage.offset = 0; guarded(refreshDevices); }, 250);
  });
  $('#device-filter').addEventListener('submit', (e) => e.preventDefault());
  $('#page-prev').addEventListener('click', () => { devicePage.offset = Math.max(0, devicePage.offset - Number($('#page-size').value)); guarded(refreshDevices); });
  $('#page-next').addEventListener('click', () => { devicePage.offset += Number($('#page-size').value); guarded(refreshDevices); });
  $('#audit-prev').addEventListener('click', () => { auditPage.offset = Math.max(0, auditPage.offset - auditPage.limit); guarded(refreshAudit); });
  $('#audit-next').addEventListener('click', () => { auditPage.offset += auditPage.limit; guarded(refreshAudit); });
  $('#rollout-pause').addEventListener('click', () => control('pause'));
  $('#rollout-resume').addEventListener('click', () => control('resume'));
  $('#rollout-abort').addEventListener('click', () => control('abort'));
  try {
    const me = await api('GET', '/api/me');
    await showApp(me.user);
  } catch { showLogin(); }
});
