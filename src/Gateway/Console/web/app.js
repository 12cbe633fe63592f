// IotOta console: plain JavaScript against the gateway's REST API (cookie session from POST /api/login).
'use strict';
const $ = (sel) => document.querySelector(sel);
let currentRollout = null;
let events = null;
let fleetTimer = null;

function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
function bytes(n) {
  if (n == null) return '–';
  if (n >= 1048576) return (n / 1048576).toFixed(2) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return n + ' B';
}
function showError(text) {
  const e = $('#error');
  e.textContent = text;
  e.hidden = false;
}
function clearError() { $('#error').hidden = true; $('#error').textContent = ''; }

// Every API call: JSON in and out; a problem body (RFC 9457) becomes a plain message in the page.
async function api(method, path, body, isForm) {
  const opts = { method, headers: {}, credentials: 'same-origin' };
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
  if (fleetTimer) { clearInterval(fleetTimer); fleetTimer = null; }
  if (events) { events.close(); events = null; }
}
async function showApp(user) {
  $('#login-view').hidden = true;
  $('#app-view').hidden = false;
  $('#logout').hidden = false;
  $('#whoami').textContent = `signed in as ${user}`;
  await guarded(refreshAll);
  if (!fleetTimer) fleetTimer = setInterval(() => guarded(refreshFleet), 2000);
  const active = (await api('GET', '/api/rollouts').catch(() => [])).find((r) => r.state === 'running' || r.state === 'paused');
  if (active) watch(active.id);
}

async function refreshAll() { await Promise.all([refreshFleet(), refreshImages(), refreshRollouts()]); }

async function refreshFleet() {
  const [devices, groups] = await Promise.all([api('GET', '/api/devices'), api('GET', '/api/groups')]);
  const online = devices.filter((d) => d.online).length;
  $('#fleet-summary').textContent = `${devices.length} devices known, ${online} online, ${groups.length} groups`;
  $('#groups').innerHTML = groups.map((g) => `<span class="group">group ${g.groupId}: ${g.online}/${g.devices} online; ` +
    Object.entries(g.versions).map(([v, n]) => `${esc(v)} × ${n}`).join(', ') + '</span>').join('<br>');
  $('#devices-table tbody').innerHTML = devices.map((d) => {
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

async function refreshRollouts() {
  const list = await api('GET', '/api/rollouts');
  $('#rollout-list').innerHTML = list.map((r) => `<li><a href="#" data-rollout="${esc(r.id)}">${esc(r.id)}</a> ${esc(r.version)}: ${esc(r.state)}, ` +
    `${r.updated}/${r.devices} updated${r.message ? ' – ' + esc(r.message) : ''}</li>`).join('');
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

function render(v) {
  $('#rollout-state').textContent = v.state;
  $('#rollout-percent').textContent = `${v.percent.toFixed(1)} %`;
  $('#live-message').textContent = v.message || '';
  $('#rollout-pause').disabled = v.state !== 'running';
  $('#rollout-resume').disabled = v.state !== 'paused';
  $('#rollout-abort').disabled = !(v.state === 'running' || v.state === 'paused' || v.state === 'created');
  const ratio = v.imageBytes ? (v.gatewayPayloadBytes / v.imageBytes).toFixed(3) : '–';
  const phase = v.phases.length > 1 ? `phase ${v.phase + 1} of ${v.phases.length} (groups ${v.phases[v.phase].join(', ')})` : `groups ${v.phases.length ? v.phases[0].join(', ') : 'all'}`;
  $('#live-figures').innerHTML = `<span>${v.updated}/${v.devices} updated, ${v.failed} failed, <span id="pending-count">${v.pending || 0} pending</span></span><span>${esc(phase)}</span>` +
    `<span id="gateway-bytes">gateway sent ${bytes(v.gatewayPayloadBytes)} for a ${bytes(v.imageBytes)} image (${ratio} × image)</span>` +
    `<span id="bound">measured ${v.elapsedSeconds.toFixed(2)} s` + (v.boundSeconds != null ? ` against the Kumar–Ross bound ${v.boundSeconds.toFixed(2)} s (${(v.elapsedSeconds / v.boundSeconds).toFixed(2)} ×)` : ' (Kumar–Ross bound: link rates unknown)') + '</span>';
  $('#group-bars').innerHTML = v.groupProgress.map((g) => `<div class="group-progress" data-group="${g.groupId}">group ${g.groupId}: ${g.updated}/${g.devices} updated` +
    `<div class="bar"><div style="width:${g.percent}%"></div><span>${g.percent.toFixed(1)} %</span></div></div>`).join('');
  const relays = new Set(v.intermediates.map((i) => i.nodeId));
  $('#device-grid').innerHTML = v.deviceProgress.map((d) => {
    const pct = d.totalPackets ? 100 * d.heldPackets / d.totalPackets : 0;
    const cls = ['dev', d.updated ? 'updated' : '', d.state === 'Failed' ? 'failed' : '', d.pending ? 'pending' : '', d.online ? '' : 'offline', relays.has(d.nodeId) ? 'relay' : ''].join(' ');
    const seen = d.pending && d.lastSeen ? `, offline since ${esc(new Date(d.lastSeen).toLocaleString())}` : '';
    return `<div class="${cls}" data-node="${d.nodeId}" title="node ${d.nodeId}, group ${d.groupId}, ${esc(d.state)}${seen}, ${esc(d.version)}, ${d.heldPackets}/${d.totalPackets}">` +
      `<div class="fill" style="height:${d.updated ? 0 : pct}%"></div><span>${d.nodeId}<br>${d.updated ? '✓' : pct.toFixed(0) + '%'}</span></div>`;
  }).join('');
  renderPending(v);
  $('#intermediates tbody').innerHTML = v.intermediates.map((i) => `<tr><td>${i.nodeId}</td><td>${i.groupId}</td><td>${i.inFlight}</td><td>${bytes(i.inFlightBytes)}</td><td>${i.assigned}</td></tr>`).join('')
    || '<tr><td colspan="5">none right now</td></tr>';
  drawRelays(v);
}

// Devices offline within the window: pending (not failed), with when each was last seen.
function renderPending(v) {
  const pending = v.deviceProgress.filter((d) => d.pending);
  $('#pending-devices tbody').innerHTML = pending.map((d) => `<tr data-node="${d.nodeId}"><td>${d.nodeId}</td><td>${d.groupId}</td>` +
    `<td>${d.lastSeen ? esc(new Date(d.lastSeen).toLocaleString()) : '–'}</td><td>${d.heldPackets}/${d.totalPackets}</td></tr>`).join('')
    || '<tr><td colspan="4">none</td></tr>';
}

// Groups on a circle; an arrow root → relay for every pair in the latest send orders (thicker = more often);
// a dashed arrow from the gateway to each group that received originals.
function drawRelays(v) {
  const svg = $('#relay-svg');
  const groups = v.groupProgress.map((g) => g.groupId);
  const cx = 250, cy = 160, r = 105;
  const pos = {};
  groups.forEach((g, i) => {
    const a = -Math.PI / 2 + 2 * Math.PI * i / Math.max(1, groups.length);
    pos[g] = [cx + r * Math.cos(a), cy + r * Math.sin(a)];
  });
  const pairs = {}, roots = {};
  for (const o of v.recentOrders) {
    roots[o.root.groupId] = (roots[o.root.groupId] || 0) + 1;
    for (const x of o.relays) {
      const k = `${o.root.nodeId}:${o.root.groupId}>${x.nodeId}:${x.groupId}`;
      pairs[k] = (pairs[k] || 0) + 1;
    }
  }
  let out = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#e09b00"/></marker></defs>';
  out += `<rect x="10" y="10" width="70" height="26" fill="#334" rx="4"/><text x="45" y="28" fill="#fff" font-size="12" text-anchor="middle">gateway</text>`;
  for (const [g, n] of Object.entries(roots)) {
    if (!pos[g]) continue;
    out += `<line x1="80" y1="30" x2="${pos[g][0] - 30}" y2="${pos[g][1] - 20}" stroke="#889" stroke-dasharray="4 3" stroke-width="${Math.min(4, 1 + n / 8)}"/>`;
  }
  const byGroupPair = {};
  for (const [k, n] of Object.entries(pairs)) {
    const [a, b] = k.split('>');
    const ga = a.split(':')[1], gb = b.split(':')[1];
    const gk = `${ga}>${gb}`;
    (byGroupPair[gk] = byGroupPair[gk] || []).push({ a: a.split(':')[0], b: b.split(':')[0], n });
  }
  for (const [gk, list] of Object.entries(byGroupPair)) {
    const [ga, gb] = gk.split('>');
    if (!pos[ga] || !pos[gb]) continue;
    const [x1, y1] = pos[ga], [x2, y2] = pos[gb];
    const dx = x2 - x1, dy = y2 - y1, len = Math.hypot(dx, dy) || 1;
    const ox = -dy / len * 8, oy = dx / len * 8; // offset so a→b and b→a do not overlap
    const total = list.reduce((s, p) => s + p.n, 0);
    const sx = x1 + dx / len * 34 + ox, sy = y1 + dy / len * 34 + oy, ex = x2 - dx / len * 34 + ox, ey = y2 - dy / len * 34 + oy;
    out += `<line class="relay-arrow" x1="${sx}" y1="${sy}" x2="${ex}" y2="${ey}" stroke="#e09b00" stroke-width="${Math.min(6, 1 + total / 6)}" marker-end="url(#arrow)"/>`;
    const top = list.sort((p, q) => q.n - p.n).slice(0, 2).map((p) => `${p.a}→${p.b}`).join(' ');
    out += `<text x="${(sx + ex) / 2 + ox}" y="${(sy + ey) / 2 + oy}" font-size="9" fill="#7a5500">${esc(top)}</text>`;
  }
  for (const g of groups) {
    const [x, y] = pos[g];
    const gp = v.groupProgress.find((p) => p.groupId === g);
    out += `<circle cx="${x}" cy="${y}" r="30" fill="#e8f1ff" stroke="#4a6fa5"/><text x="${x}" y="${y - 2}" font-size="12" text-anchor="middle">group ${g}</text>` +
      `<text x="${x}" y="${y + 13}" font-size="10" text-anchor="middle">${gp.updated}/${gp.devices}</text>`;
  }
  if (!v.recentOrders.length) out += `<text x="${cx}" y="295" font-size="10" text-anchor="middle" fill="#667">no send orders yet</text>`;
  svg.innerHTML = out;
}

async function control(action) {
  if (!currentRollout) return;
  await guarded(async () => render(await api('POST', `/api/rollouts/${encodeURIComponent(currentRollout)}/${action}`)));
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
      await refreshImages();
      $('#rollout-image').value = img.id;
    });
  });
  $('#images-table').addEventListener('click', async (e) => {
    const id = e.target.dataset && e.target.dataset.id;
    if (!id || !e.target.classList.contains('delete-image')) return;
    await guarded(async () => { await api('DELETE', `/api/images/${encodeURIComponent(id)}`); await refreshImages(); });
  });
  $('#rollout-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    await guarded(async () => {
      const text = $('#rollout-groups').value.trim();
      const groups = text && text !== 'all' ? text.split(',').map((s) => Number(s.trim())) : [];
      if (groups.some((g) => !Number.isInteger(g))) throw new Error(`groups must be numbers separated by commas, not "${text}"`);
      const r = await api('POST', '/api/rollouts?start=true', {
        imageId: $('#rollout-image').value, groups,
        canaryGroups: Number($('#rollout-canary').value || 0), maxFailures: Number($('#rollout-maxfail').value || 0),
        windowSeconds: Math.round(Number($('#rollout-window').value || 24) * 3600),
      });
      await refreshRollouts();
      watch(r.id);
    });
  });
  $('#rollout-list').addEventListener('click', (e) => {
    const id = e.target.dataset && e.target.dataset.rollout;
    if (id) { e.preventDefault(); watch(id); }
  });
  $('#rollout-pause').addEventListener('click', () => control('pause'));
  $('#rollout-resume').addEventListener('click', () => control('resume'));
  $('#rollout-abort').addEventListener('click', () => control('abort'));
  try {
    const me = await api('GET', '/api/me');
    await showApp(me.user);
  } catch { showLogin(); }
});
