// IotOta console: the live view of one rollout (progress, groups, a bounded device grid, the relay picture).
'use strict';
const GRID_MAX = 200;

function render(v) {
  $('#rollout-state').textContent = v.state;
  $('#rollout-percent').textContent = `${v.percent.toFixed(1)} %`;
  $('#live-message').textContent = v.message || '';
  $('#rollout-pause').disabled = v.state !== 'running';
  $('#rollout-resume').disabled = v.state !== 'paused';
  $('#rollout-abort').disabled = !(v.state === 'running' || v.state === 'paused' || v.state === 'created');
  const ratio = v.imageBytes ? (v.gatewayPayloadBytes / v.imageBytes).toFixed(3) : '–';
  const phase = v.phases.length > 1 ? `phase ${v.phase + 1} of ${v.phases.length} (groups ${v.phases[v.phase].join(', ')})` : `groups ${v.phases.length ? v.phases[0].join(', ') : 'all'}`;
  $('#live-figures').innerHTML = `<span>${v.updated}/${v.devices} updated, ${v.failed} failed, <span id="pending-count">${v.pending || 0} pending</span>` +
    (v.windowEndsAt ? `<span id="window-ends">, window ends ${esc(new Date(v.windowEndsAt).toLocaleString())}</span>` : '') + `</span><span>${esc(phase)}</span>` +
    `<span id="gateway-bytes">gateway sent ${bytes(v.gatewayPayloadBytes)} for a ${bytes(v.imageBytes)} image (${ratio} × image)</span>` +
    `<span id="bound">measured ${v.elapsedSeconds.toFixed(2)} s` + (v.boundSeconds != null ? ` against the Kumar–Ross bound ${v.boundSeconds.toFixed(2)} s (${(v.elapsedSeconds / v.boundSeconds).toFixed(2)} ×)` : ' (Kumar–Ross bound: link rates unknown)') + '</span>';
  $('#group-bars').innerHTML = v.groupProgress.map((g) => `<div class="group-progress" data-group="${g.groupId}">group ${g.groupId}: ${g.updated}/${g.devices} updated` +
    `<div class="bar"><div style="width:${g.percent}%"></div><span>${g.percent.toFixed(1)} %</span></div></div>`).join('');
  const relays = new Set(v.intermediates.map((i) => i.nodeId));
  // Bounded: at most GRID_MAX cells (devices still on their way first), the rest counted in the heading.
  const shown = v.deviceProgress.length <= GRID_MAX ? v.deviceProgress
    : v.deviceProgress.filter((d) => !d.updated).concat(v.deviceProgress.filter((d) => d.updated)).slice(0, GRID_MAX);
  $('#device-grid-note').textContent = shown.length < v.deviceProgress.length
    ? `(${shown.length} of ${v.deviceProgress.length} shown, not yet updated first; the fleet table above has them all)` : '';
  $('#device-grid').innerHTML = shown.map((d) => {
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

