// OneNet control view: the alert board, city map, detail and red/black list.
// Vanilla JS, no external resources. Data is only ever inserted as text (never as HTML).
"use strict";

const SEVERITIES = ["Extreme", "Severe", "Moderate", "Minor"];
const SEV_RANK = { Extreme: 4, Severe: 3, Moderate: 2, Minor: 1 };
const STATUS_RANK = { firing: 0, acknowledged: 1, resolved: 2 };
const DISTRICT_FILL = ["#1d2b3a", "#22313f", "#1b3030", "#2a2538", "#2f2a1e", "#1e2f24", "#30222a", "#23283a"];
const STALE_MS = 25000; // no message (heartbeats every 10 s) for this long: the link is suspect

const state = {
  me: null,
  alerts: new Map(), // alert_id -> {alert, seq, kind, received_at}
  order: [], // alert ids shown on the board, in order
  selected: null,
  cursor: null,
  source: null,
  lastMessage: 0,
  detail: null,
  mapTimer: null,
  rankTimer: null,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

// --- API ------------------------------------------------------------------------------------

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", "X-OneNet-CSRF": "1", ...(options.headers || {}) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 401) {
    showSignIn();
    throw new Unauthorized("sign in");
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) {
    const reason = data && (data.reason || "error");
    const detail = data && (data.detail || JSON.stringify(data));
    const err = new Error(`${reason}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
    err.status = response.status;
    throw err;
  }
  return data;
}

// --- sign in --------------------------------------------------------------------------------

function showSignIn(message) {
  closeStream();
  $("main").hidden = true;
  $("sign-out").hidden = true;
  $("who-name").textContent = "";
  $("signin-error").textContent = message || "";
  const dialog = $("signin");
  if (!dialog.open) dialog.showModal();
  $("signin-token").focus();
  setConnection("red", "Signed out");
}

async function signIn(event) {
  event.preventDefault();
  const token = $("signin-token").value.trim();
  if (!token) return;
  try {
    const response = await fetch("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-OneNet-CSRF": "1" },
      credentials: "same-origin",
      body: JSON.stringify({ token }),
    });
    if (!response.ok) {
      $("signin-error").textContent = "That token is not valid.";
      return;
    }
    $("signin-token").value = "";
    $("signin").close();
    await start();
  } catch (e) {
    $("signin-error").textContent = `Cannot reach the view: ${e.message}`;
  }
}

async function signOut() {
  try {
    await api("/api/session", { method: "DELETE" });
  } catch (e) {
    /* signed out either way */
  }
  state.alerts.clear();
  showSignIn("Signed out.");
}

// --- data -----------------------------------------------------------------------------------

async function start() {
  try {
    state.me = await api("/api/session");
  } catch (e) {
    if (!(e instanceof Unauthorized)) showSignIn(`Cannot reach the view: ${e.message}`);
    return;
  }
  $("who-name").textContent = `${state.me.name} (${state.me.role})`;
  $("sign-out").hidden = false;
  $("main").hidden = false;
  await reload();
  loadRanking();
  clearInterval(state.rankTimer);
  state.rankTimer = setInterval(loadRanking, 60000);
}

async function reload() {
  setConnection("amber", "Loading…");
  const list = await api("/api/alerts?limit=1000&sort=recent");
  state.alerts.clear();
  for (const item of list.items) state.alerts.set(item.alert.alert_id, item);
  state.cursor = list.cursor;
  fillFilterOptions();
  render();
  scheduleMap(0);
  openStream(list.cursor);
}

function closeStream() {
  if (state.source) state.source.close();
  state.source = null;
}

function openStream(cursor) {
  closeStream();
  const source = new EventSource(`/api/stream?after=${encodeURIComponent(cursor)}`);
  state.source = source;
  setConnection("amber", "Connecting…");
  const alive = () => {
    state.lastMessage = Date.now();
    setConnection("green", "Live");
  };
  source.addEventListener("open", alive);
  source.addEventListener("hello", alive);
  source.addEventListener("heartbeat", alive);
  source.addEventListener("alert", (e) => {
    alive();
    onChange(JSON.parse(e.data));
  });
  source.addEventListener("reset", () => reload().catch(() => {}));
  source.addEventListener("unauthorized", () => showSignIn("Your session has ended."));
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setConnection("red", "Disconnected");
      // the browser gave up (e.g. 401): check the session, then start over
      setTimeout(() => start().catch(() => {}), 3000);
    } else {
      setConnection("amber", "Reconnecting…");
    }
  });
}

setInterval(() => {
  if (state.source && state.source.readyState === EventSource.OPEN && Date.now() - state.lastMessage > STALE_MS) {
    setConnection("amber", "No heartbeat");
  }
}, 5000);

function setConnection(colour, text) {
  $("conn-dot").dataset.state = colour;
  $("conn-text").textContent = text;
}

function onChange(item) {
  const id = item.alert.alert_id;
  const isNew = !state.alerts.has(id);
  state.alerts.set(id, item);
  fillFilterOptions();
  render(isNew ? id : null);
  if (state.selected === id) loadDetail(id);
  scheduleMap(400);
}

// --- board ----------------------------------------------------------------------------------

function filters() {
  return {
    status: $("f-status").value,
    district: $("f-district").value,
    department: $("f-department").value,
    text: $("f-text").value.trim().toLowerCase(),
  };
}

function matches(a, f) {
  if (f.status === "open" && a.status === "resolved") return false;
  if (f.status && f.status !== "open" && a.status !== f.status) return false;
  if (f.district && a.district !== f.district) return false;
  if (f.department && !a.departments.includes(f.department)) return false;
  if (f.text) {
    const hay = [a.alert_id, a.rule, a.headline, a.key, a.category, a.district || "", ...a.departments].join(" ").toLowerCase();
    if (!hay.includes(f.text)) return false;
  }
  return true;
}

function fillFilterOptions() {
  const districts = new Set();
  const departments = new Set();
  for (const { alert } of state.alerts.values()) {
    if (alert.district) districts.add(alert.district);
    alert.departments.forEach((d) => departments.add(d));
  }
  for (const [id, values] of [["f-district", districts], ["f-department", departments]]) {
    const select = $(id);
    const current = select.value;
    const have = new Set([...select.options].map((o) => o.value));
    for (const v of [...values].sort()) if (!have.has(v)) select.append(el("option", { value: v }, v));
    select.value = current;
  }
}

function render(freshId) {
  const f = filters();
  const counts = { Extreme: 0, Severe: 0, Moderate: 0, Minor: 0 };
  const shown = [];
  for (const item of state.alerts.values()) {
    const a = item.alert;
    if (a.status !== "resolved") counts[a.severity] += 1;
    if (matches(a, f)) shown.push(item);
  }
  for (const s of SEVERITIES) $(`count-${s}`).textContent = counts[s];
  shown.sort((x, y) =>
    STATUS_RANK[x.alert.status] - STATUS_RANK[y.alert.status] ||
    SEV_RANK[y.alert.severity] - SEV_RANK[x.alert.severity] ||
    y.seq - x.seq);
  state.order = shown.map((i) => i.alert.alert_id);
  const board = $("board");
  board.replaceChildren(...shown.map((item) => row(item, item.alert.alert_id === freshId)));
  $("board-empty").hidden = shown.length > 0;
  if (state.selected && !state.order.includes(state.selected) && !state.alerts.has(state.selected)) state.selected = null;
  if (!state.selected && state.order.length) select(state.order[0], false);
  markSelected();
}

function row(item, fresh) {
  const a = item.alert;
  const li = el("li", {
    id: `alert-${a.alert_id}`,
    role: "option",
    class: `${a.severity}${fresh ? " fresh" : ""}`,
    "aria-selected": String(a.alert_id === state.selected),
    dataset: { alertId: a.alert_id, status: a.status },
  },
  el("span", { class: `sev sev-${a.severity}` }, a.severity),
  el("span", { class: "headline" }, a.headline),
  el("span", { class: `status status-${a.status}` }, a.status),
  el("span", { class: "meta" }, [a.district ? `district ${a.district}` : null, a.departments.join(", ") || null, ago(a.last_event_time)].filter(Boolean).join(" · ")));
  li.addEventListener("click", () => select(a.alert_id, true));
  return li;
}

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function markSelected() {
  for (const li of $("board").children) {
    const on = li.dataset.alertId === state.selected;
    li.setAttribute("aria-selected", String(on));
    if (on) $("board").setAttribute("aria-activedescendant", li.id);
  }
  for (const cell of document.querySelectorAll(".alert-cell")) {
    cell.classList.toggle("selected", (cell.dataset.alerts || "").split(" ").includes(state.selected));
  }
}

function select(id, scroll) {
  state.selected = id;
  markSelected();
  if (scroll) {
    const li = document.getElementById(`alert-${id}`);
    if (li) li.scrollIntoView({ block: "nearest" });
  }
  loadDetail(id);
}

function move(step) {
  if (!state.order.length) return;
  const i = state.order.indexOf(state.selected);
  const next = i < 0 ? 0 : Math.min(state.order.length - 1, Math.max(0, i + step));
  select(state.order[next], true);
}

// --- detail ---------------------------------------------------------------------------------

async function loadDetail(id) {
  let detail;
  try {
    detail = await api(`/api/alerts/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!(e instanceof Unauthorized)) $("detail").replaceChildren(el("p", { class: "empty" }, "This alert is not available."));
    return;
  }
  if (state.selected !== id) return;
  state.detail = detail;
  renderDetail(detail);
}

function fmt(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString("sv-SE", { hour12: false }); // 2026-05-01 14:03:00, local time
}

function renderDetail(detail) {
  const a = detail.item.alert;
  const lc = a.lifecycle || {};
  const canAct = state.me && state.me.can_act;
  const ack = el("button", { type: "button", id: "btn-ack", "aria-keyshortcuts": "a" }, "Acknowledge (a)");
  ack.disabled = !canAct || a.status !== "firing";
  ack.addEventListener("click", () => acknowledge(a.alert_id));
  const res = el("button", { type: "button", id: "btn-resolve", "aria-keyshortcuts": "r" }, "Resolve (r)");
  res.disabled = !canAct || a.status === "resolved";
  res.addEventListener("click", () => resolve(a.alert_id));
  const capLink = el("a", { href: `/api/alerts/${encodeURIComponent(a.alert_id)}/cap`, target: "_blank", rel: "noopener" }, "CAP 1.2 XML");

  const facts = [
    ["Status", a.status],
    ["Rule", a.rule],
    ["Category", a.category],
    ["Key", a.key],
    ["District", a.district || "—"],
    ["Departments", a.departments.join(", ") || "—"],
    ["First event", fmt(a.first_event_time)],
    ["Last event", fmt(a.last_event_time)],
    ["Acknowledged", lc.acknowledged_by ? `${lc.acknowledged_by}, ${fmt(lc.acknowledged_at)}` : "—"],
    ["Resolved", lc.resolved_by ? `${lc.resolved_by}, ${fmt(lc.resolved_at)}${lc.resolution_note ? ` — ${lc.resolution_note}` : ""}` : "—"],
    ["Assigned to", lc.assigned_to || "—"],
    ["Alert id", a.alert_id],
  ];
  const dl = el("dl", {});
  for (const [k, v] of facts) dl.append(el("dt", {}, k), el("dd", {}, v));

  // the timeline: evidence events, then what people did (comments, acknowledgement, resolution)
  const moments = detail.evidence.map((e) => ({ t: e.time, kind: e.type.replace(/^city\./, ""), text: summary(e), person: false }));
  if (lc.acknowledged_at) moments.push({ t: lc.acknowledged_at, kind: "acknowledged", text: `by ${lc.acknowledged_by}`, person: true });
  if (lc.resolved_at) moments.push({ t: lc.resolved_at, kind: "resolved", text: `by ${lc.resolved_by}${lc.resolution_note ? `: ${lc.resolution_note}` : ""}`, person: true });
  for (const c of lc.comments || []) moments.push({ t: c.at, kind: "comment", text: `${c.actor}: ${c.text}`, person: true });
  moments.sort((x, y) => Date.parse(x.t) - Date.parse(y.t));
  const timeline = el("ol", { class: "timeline", "aria-label": "Evidence timeline" },
    ...moments.map((m) => el("li", { class: m.person ? "person" : "" }, el("time", { datetime: m.t }, fmt(m.t)), el("span", { class: "kind" }, m.kind), m.text)));
  const missing = detail.missing_evidence.length ? el("p", { class: "empty" }, `${detail.missing_evidence.length} evidence event(s) not held by the view.`) : null;

  $("detail").replaceChildren(...[
    el("h2", { class: `sev-${a.severity}` }, `${a.severity} · ${a.headline}`),
    el("div", { class: "actions" }, ack, res, capLink),
    dl,
    el("h2", {}, "Timeline"),
    timeline,
    missing,
  ].filter(Boolean));
}

function summary(e) {
  const d = e.data || {};
  const parts = [];
  for (const k of ["site_id", "sensor_id", "h2_ppm", "hazard", "camera_id", "persons_per_m2", "incident_id", "category", "request_id", "service_code", "department", "enterprise_id", "due_by", "result"]) {
    if (d[k] !== undefined && d[k] !== null) parts.push(`${k}=${d[k]}`);
  }
  return `${parts.join(" ")} (${e.source})`;
}

// --- actions --------------------------------------------------------------------------------

function toast(text, error) {
  const t = $("toast");
  t.textContent = text;
  t.classList.toggle("error", Boolean(error));
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

async function acknowledge(id) {
  const item = state.alerts.get(id);
  if (!item || !state.me.can_act || item.alert.status !== "firing") return;
  try {
    await api(`/api/alerts/${encodeURIComponent(id)}/acknowledge`, { method: "POST", body: {} });
    toast("Acknowledgement sent.");
  } catch (e) {
    if (!(e instanceof Unauthorized)) toast(`Not acknowledged: ${e.message}`, true);
  }
}

function resolve(id) {
  const item = state.alerts.get(id);
  if (!item || !state.me.can_act || item.alert.status === "resolved") return;
  const dialog = $("note-dialog");
  $("note-text").value = "";
  dialog.dataset.alertId = id;
  dialog.showModal();
  $("note-text").focus();
}

async function submitResolve(event) {
  event.preventDefault();
  const dialog = $("note-dialog");
  const note = $("note-text").value.trim();
  if (!note) return;
  dialog.close();
  try {
    await api(`/api/alerts/${encodeURIComponent(dialog.dataset.alertId)}/resolve`, { method: "POST", body: { note } });
    toast("Resolution sent.");
  } catch (e) {
    if (!(e instanceof Unauthorized)) toast(`Not resolved: ${e.message}`, true);
  }
}

// --- map ------------------------------------------------------------------------------------

function scheduleMap(delay) {
  clearTimeout(state.mapTimer);
  state.mapTimer = setTimeout(() => loadMap().catch(() => {}), delay);
}

async function loadMap() {
  const data = await api("/api/map");
  drawMap(data);
}

function drawMap(data) {
  const map = $("map");
  const all = [...data.background, ...data.alerts];
  if (!all.length) {
    map.replaceChildren();
    $("map-caption").textContent = "No locations yet.";
    return;
  }
  let south = 90, north = -90, west = 180, east = -180;
  for (const c of all) for (const [lat, lon] of c.boundary) {
    south = Math.min(south, lat); north = Math.max(north, lat);
    west = Math.min(west, lon); east = Math.max(east, lon);
  }
  // equirectangular projection around the city's mid latitude: fine at city scale
  const k = Math.cos(((south + north) / 2) * Math.PI / 180);
  const W = 1000;
  const scale = W / Math.max((east - west) * k, 1e-6);
  const H = Math.max(200, (north - south) * scale);
  const px = (lat, lon) => `${((lon - west) * k * scale).toFixed(1)},${((north - lat) * scale).toFixed(1)}`;
  map.setAttribute("viewBox", `-10 -10 ${W + 20} ${H + 20}`);
  const districts = [...new Set(data.background.map((c) => c.district).filter(Boolean))].sort();
  const nodes = [];
  for (const c of data.background) {
    const i = c.district ? districts.indexOf(c.district) : -1;
    const p = svg("polygon", { points: c.boundary.map(([a, b]) => px(a, b)).join(" "), class: "bg", fill: i < 0 ? "#161b22" : DISTRICT_FILL[i % DISTRICT_FILL.length] });
    nodes.push(p);
  }
  const halos = [];
  for (const c of data.alerts) {
    // a ring around each alert cell: a 0.7 km hexagon alone is too small for a wall screen
    let cx = 0, cy = 0;
    for (const [lat, lon] of c.boundary) {
      const [x, y] = px(lat, lon).split(",").map(Number);
      cx += x / c.boundary.length; cy += y / c.boundary.length;
    }
    halos.push(svg("circle", { cx: cx.toFixed(1), cy: cy.toFixed(1), r: "34", class: `halo ${c.severity}` }));
  }
  nodes.push(...halos);
  for (const c of data.alerts) {
    const p = svg("polygon", { points: c.boundary.map(([a, b]) => px(a, b)).join(" "), class: `alert-cell ${c.severity}`, tabindex: "-1" });
    p.dataset.alerts = c.alert_ids.join(" ");
    const title = svg("title", {});
    title.textContent = `${c.severity}: ${c.alert_ids.length} open alert(s)`;
    p.append(title);
    p.addEventListener("click", () => select(c.alert_ids[0], true));
    nodes.push(p);
  }
  for (const d of data.districts) {
    const [x, y] = px(d.lat, d.lon).split(",");
    const t = svg("text", { x, y, "text-anchor": "middle" });
    t.textContent = d.district;
    nodes.push(t);
  }
  map.replaceChildren(...nodes);
  $("map-caption").textContent = `${data.alerts.length} cell(s) with open alerts · H3 resolution ${data.resolution} · ${districts.length} district(s)`;
  markSelected();
}

// --- red/black list -------------------------------------------------------------------------

async function loadRanking() {
  let r;
  try {
    r = await api("/api/departments/ranking?size=3");
  } catch (e) {
    return;
  }
  $("rank-window").textContent = `SLA ${r.deadline_hours} h, last ${r.window_days} days`;
  const line = (s) => el("li", {}, s.department, el("span", { class: "pct" }, `${(s.compliance * 100).toFixed(1)} %`),
    el("span", { class: "sub" }, ` ${s.closed_on_time}/${s.closed_on_time + s.closed_late + s.open_overdue}`));
  $("red-list").replaceChildren(...(r.red.length ? r.red.map(line) : [el("li", { class: "empty" }, "No judged requests yet.")]));
  $("black-list").replaceChildren(...(r.black.length ? r.black.map(line) : [el("li", { class: "empty" }, "—")]));
}

// --- keyboard -------------------------------------------------------------------------------

function onKey(e) {
  if (document.querySelector("dialog[open]")) return; // dialogs handle their own keys
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (typing) {
    if (e.key === "Escape") { document.activeElement.blur(); }
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  switch (e.key) {
    case "j": case "ArrowDown": move(1); break;
    case "k": case "ArrowUp": move(-1); break;
    case "a": if (state.selected) acknowledge(state.selected); break;
    case "r": if (state.selected) resolve(state.selected); break;
    case "/": $("f-text").focus(); break;
    case "Escape": $("f-text").value = ""; render(); break;
    default: return;
  }
  e.preventDefault();
}

// --- wiring ---------------------------------------------------------------------------------

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("note-form").addEventListener("submit", submitResolve);
  $("note-cancel").addEventListener("click", () => $("note-dialog").close());
  $("note-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { // Enter sends, Shift+Enter breaks the line
      e.preventDefault();
      $("note-form").requestSubmit();
    }
  });
  $("signin").addEventListener("cancel", (e) => e.preventDefault()); // signing in is not optional
  for (const id of ["f-status", "f-district", "f-department"]) $(id).addEventListener("change", () => render());
  $("f-text").addEventListener("input", () => render());
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  document.addEventListener("keydown", onKey);
  setInterval(() => { if (!$("main").hidden) render(); }, 15000); // refresh "n min ago"
  start();
});
