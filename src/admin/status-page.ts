/**
 * The status page at `/`: one self-contained HTML document (no build step, nothing fetched from
 * the internet) that polls `/api/status` every two seconds (`?refresh=MS` to change), shows the
 * rates Weir computes (./status-rates.ts, so they are there from the first sample) and draws them
 * as small SVG sparklines. It is kept as a string here so `tsc` ships it inside dist/ like any
 * other module.
 */
import { ENDURANCE_WARN_YEARS } from './flash-wear.js';

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Weir status</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2630; background: #f5f7f9; }
  body { margin: 0 auto; max-width: 980px; padding: 16px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  h2 { font-size: 15px; margin: 22px 0 8px; text-transform: uppercase; letter-spacing: .04em; color: #4a5866; }
  .sub { color: #5b6a78; font-size: 13px; }
  .pill { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
  .ok { background: #d8f3e3; color: #146c3a; } .bad { background: #fde0de; color: #9b1c12; } .warn { background: #fff1cc; color: #7a5a00; }
  table { width: 100%; border-collapse: collapse; background: #fff; border-radius: 8px; overflow: hidden; box-shadow: 0 1px 2px #0001; }
  th, td { text-align: left; padding: 7px 10px; font-size: 14px; border-bottom: 1px solid #eef1f4; }
  th { background: #eef2f6; font-weight: 600; font-size: 12px; color: #4a5866; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  .bar { height: 10px; background: #e3e8ee; border-radius: 5px; overflow: hidden; }
  .bar > div { height: 100%; background: #2f7de1; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 10px; }
  .card { background: #fff; border-radius: 8px; padding: 10px 12px; box-shadow: 0 1px 2px #0001; }
  .card b { display: block; font-size: 20px; font-variant-numeric: tabular-nums; }
  .card span { font-size: 12px; color: #5b6a78; }
  .card.warn { background: #fff1cc; }
  svg.spark { width: 120px; height: 24px; vertical-align: middle; }
  .cards + table { margin-top: 10px; }
  #error { color: #9b1c12; font-weight: 600; }
</style>
</head>
<body>
<h1>Weir <span id="ready" class="pill">…</span></h1>
<div class="sub" id="meta">connecting…</div>
<div id="error"></div>
<h2>Disk</h2>
<div class="cards">
  <div class="card"><b id="used">–</b><span>stored of the disk budget</span><div class="bar"><div id="usedbar" style="width:0"></div></div></div>
  <div class="card"><b id="headroom">–</b><span>headroom before the overflow policies apply</span></div>
  <div class="card"><b id="rate">–</b><span>records appended, all topics (records/s)</span></div>
  <div class="card"><b id="dropped">–</b><span>records dropped by drop-oldest</span></div>
</div>
<h2>Flash wear</h2>
<div class="cards">
  <div class="card"><b id="wear-day">–</b><span id="wear-day-label">written to storage per day</span></div>
  <div class="card"><b id="wear-ratio">–</b><span id="wear-ratio-label">bytes written per payload byte</span></div>
  <div class="card" id="wear-years-card"><b id="wear-years">–</b><span id="wear-years-label">until the rated endurance is written</span></div>
</div>
<h2>Topics</h2>
<table><thead><tr><th>topic</th><th class="num">partitions</th><th class="num">records/s</th><th>recent</th><th class="num">records kept</th><th class="num">size</th><th>when full</th></tr></thead><tbody id="topics"></tbody></table>
<h2>Consumer groups</h2>
<table><thead><tr><th>group</th><th class="num">partitions</th><th class="num">lag (records)</th></tr></thead><tbody id="groups"></tbody></table>
<h2>Components</h2>
<table><thead><tr><th>component</th><th>state</th></tr></thead><tbody id="components"></tbody></table>
<div id="sections"></div>
<script>
"use strict";
const HISTORY = 60;
const history = new Map();
function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0; let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? v : v.toFixed(1)) + ' ' + units[i];
}
function num(n) { return Math.round(n).toLocaleString('en'); }
function text(id, value) { document.getElementById(id).textContent = value; }
function gb(n) {
  const v = n / 1e9;
  return v === 0 ? '0' : v >= 10 ? v.toFixed(0) : v >= 0.1 ? v.toFixed(2) : v.toPrecision(2);
}
// Flash wear (src/admin/status.ts WearStatus): the rate and ratio over the last hour (less just
// after start), and the years until device.flash_endurance_tbw is written at that rate.
function wear(w) {
  const card = document.getElementById('wear-years-card');
  if (!w) {
    for (const id of ['wear-day', 'wear-ratio', 'wear-years']) text(id, '–');
    text('wear-day-label', 'not measurable here: no /proc/self/io');
    card.className = 'card';
    return;
  }
  const over = w.windowSeconds < 120 ? Math.round(w.windowSeconds) + ' s' : Math.round(w.windowSeconds / 60) + ' min';
  text('wear-day', gb(w.writeBytesPerSecond * 86400) + ' GB/day');
  text('wear-day-label', 'written to storage per day, at the rate of the last ' + over);
  text('wear-ratio', w.bytesPerPayloadByte === null ? '–' : w.bytesPerPayloadByte.toFixed(1));
  text('wear-ratio-label', 'bytes written per payload byte appended, last ' + over);
  const years = w.yearsToEndurance;
  text('wear-years', years === null || years >= 100 ? 'over 100 years' : years < 1 ? Math.round(years * 365.25) + ' days' : years.toFixed(1) + ' years');
  text('wear-years-label', 'until ' + w.enduranceTbw + ' TB (device.flash_endurance_tbw) is written at this rate');
  card.className = years !== null && years < ${ENDURANCE_WARN_YEARS} ? 'card warn' : 'card';
}
function cell(text, cls) { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; }
function spark(values) {
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => (i * 120 / (HISTORY - 1)).toFixed(1) + ',' + (22 - v / max * 20).toFixed(1)).join(' ');
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('class', 'spark'); svg.setAttribute('viewBox', '0 0 120 24');
  svg.innerHTML = '<polyline fill="none" stroke="#2f7de1" stroke-width="1.5" points="' + pts + '"/>';
  return svg;
}
function show(value, unit) {
  if (typeof value !== 'number') return String(value);
  return unit === 'bytes' ? bytes(value) : num(value);
}
// A rate from /api/status; null until Weir has an earlier sample (its first second).
function perSecond(value, unit) {
  if (value === null || value === undefined) return '–';
  if (unit === 'B/s') return bytes(value) + '/s';
  return value >= 100 ? num(value) : value.toFixed(1);
}
// A component's section (src/admin/status.ts StatusSectionView): cards, then one table.
function section(v) {
  const box = document.createElement('section');
  box.dataset.section = v.id;
  const h = document.createElement('h2'); h.textContent = v.title + ' ';
  if (v.state) { const p = document.createElement('span'); p.className = 'pill ' + v.state.level; p.textContent = v.state.text; h.append(p); }
  box.append(h);
  if (v.cards && v.cards.length > 0) {
    const cards = document.createElement('div'); cards.className = 'cards';
    for (const c of v.cards) {
      const card = document.createElement('div'); card.className = 'card'; card.dataset.card = c.id;
      const b = document.createElement('b');
      b.textContent = c.rate ? perSecond(c.perSecond, c.rate) : show(c.value, c.unit);
      const label = document.createElement('span'); label.textContent = c.rate ? c.label + ' (' + c.rate + ')' : c.label;
      card.append(b, label); cards.append(card);
    }
    box.append(cards);
  }
  if (v.table) {
    const table = document.createElement('table');
    const head = document.createElement('tr');
    for (const col of v.table.columns) { const th = document.createElement('th'); th.textContent = col.label; if (col.numeric) th.className = 'num'; head.append(th); }
    const thead = document.createElement('thead'); thead.append(head);
    const tbody = document.createElement('tbody');
    for (const row of v.table.rows) {
      const tr = document.createElement('tr');
      row.forEach((value, i) => { const col = v.table.columns[i] || {}; tr.append(cell(show(value, col.unit), col.numeric ? 'num' : '')); });
      tbody.append(tr);
    }
    if (v.table.rows.length === 0) { const tr = document.createElement('tr'); tr.append(cell(v.table.empty || 'none')); tbody.append(tr); }
    table.append(thead, tbody); box.append(table);
  }
  return box;
}
function render(s) {
  const ready = document.getElementById('ready');
  ready.textContent = s.ready ? 'ready' : 'not ready';
  ready.className = 'pill ' + (s.ready ? 'ok' : 'warn');
  document.getElementById('meta').textContent = 'version ' + s.version + ' · up ' + Math.floor(s.uptimeSeconds / 60) + ' min · updated ' + new Date(s.now).toLocaleTimeString() +
    (s.rateSeconds === null ? '' : ' · rates over the last ' + s.rateSeconds.toFixed(1) + ' s');
  document.getElementById('error').textContent = s.store.storageFailure ? 'Storage failure: ' + s.store.storageFailure : '';
  const pct = s.store.diskBudgetBytes > 0 ? Math.min(100, 100 * s.store.usedBytes / s.store.diskBudgetBytes) : 0;
  document.getElementById('used').textContent = bytes(s.store.usedBytes) + ' / ' + bytes(s.store.diskBudgetBytes);
  document.getElementById('usedbar').style.width = pct.toFixed(1) + '%';
  document.getElementById('headroom').textContent = bytes(s.store.headroomBytes);
  document.getElementById('dropped').textContent = num(s.store.recordsDropped);
  wear(s.wear);
  const tbody = document.getElementById('topics');
  tbody.replaceChildren();
  for (const t of s.topics) {
    const h = history.get(t.name) || new Array(HISTORY).fill(0);
    h.push(t.recordsPerSecond || 0); h.splice(0, h.length - HISTORY); history.set(t.name, h);
    const tr = document.createElement('tr');
    tr.dataset.topic = t.name;
    tr.append(cell(t.name), cell(String(t.partitions), 'num'), cell(t.recordsPerSecond === null ? '–' : t.recordsPerSecond.toFixed(1), 'num rate'));
    const chart = document.createElement('td'); chart.append(spark(h)); tr.append(chart);
    tr.append(cell(num(t.records), 'num'), cell(bytes(t.sizeBytes), 'num'), cell(t.overflowPolicy));
    tbody.append(tr);
  }
  if (s.topics.length === 0) { const tr = document.createElement('tr'); tr.append(cell('no topics yet')); tbody.append(tr); }
  document.getElementById('rate').textContent = perSecond(s.store.appendedPerSecond);
  const groups = document.getElementById('groups');
  groups.replaceChildren();
  for (const g of s.groups) { const tr = document.createElement('tr'); tr.append(cell(g.group), cell(String(g.partitions), 'num'), cell(num(g.lag), 'num')); groups.append(tr); }
  if (s.groups.length === 0) { const tr = document.createElement('tr'); tr.append(cell('no committed offsets yet')); groups.append(tr); }
  const comps = document.getElementById('components');
  comps.replaceChildren();
  for (const [name, state] of Object.entries(s.components)) {
    const tr = document.createElement('tr'); const st = cell(state); st.className = state === 'ok' ? '' : 'warn'; tr.append(cell(name), st); comps.append(tr);
  }
  const sections = document.getElementById('sections');
  sections.replaceChildren();
  for (const v of s.sections) sections.append(section(v));
}
async function poll() {
  try {
    const res = await fetch('/api/status', { cache: 'no-store' });
    render(await res.json());
  } catch (err) {
    document.getElementById('meta').textContent = 'cannot reach Weir: ' + err;
  }
}
poll();
// ?refresh=MS changes the polling period (tests use a short one); at least 250 ms.
const refresh = Math.max(250, Number(new URLSearchParams(location.search).get('refresh')) || 2000);
setInterval(poll, refresh);
</script>
</body>
</html>
`;
