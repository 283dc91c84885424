// OneNet control view: the alert board, city map, detail and red/black list.
// Vanilla JS, no external resources. Data is only ever inserted as text (never as HTML).
// Every word people read comes from i18n.json (zh-CN and en), through t().
"use strict";

const SEVERITIES = ["Extreme", "Severe", "Moderate", "Minor"];
const SEV_RANK = { Extreme: 4, Severe: 3, Moderate: 2, Minor: 1 };
const STATUS_RANK = { firing: 0, acknowledged: 1, resolved: 2 };
const STALE_MS = 25000; // no message (heartbeats every 10 s) for this long: the link is suspect
const LANGS = ["zh-CN", "en"];

const state = {
  me: null,
  alerts: new Map(), // alert_id -> {alert, seq, kind, received_at, first_seen_at, needs_acknowledgement}
  order: [], // alert ids shown on the board, in order
  selected: null,
  cursor: null,
  source: null,
  lastMessage: 0,
  detail: null,
  mapTimer: null,
  rankTimer: null,
  catalogue: {},
  lang: "zh-CN",
  conn: ["red", "conn.disconnected"],
  muted: localStorage.getItem("onenet.muted") === "1",
  ranking: null,
  map: null,
  districtNames: null,
};

const $ = (id) => document.getElementById(id);

// --- language -------------------------------------------------------------------------------

/** The catalogue's text for `key` in the current language, with {name} filled in. */
function t(key, params) {
  const table = state.catalogue[state.lang] || {};
  let text = table[key] ?? (state.catalogue.en || {})[key] ?? key;
  for (const [k, v] of Object.entries(params || {})) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

/** zh-CN unless the person chose otherwise, or their browser asks for another language we have. */
function chooseLanguage() {
  const saved = localStorage.getItem("onenet.lang");
  if (LANGS.includes(saved)) return saved;
  for (const l of navigator.languages || [navigator.language || ""]) {
    if (/^zh\b/i.test(l)) return "zh-CN";
    if (/^en\b/i.test(l)) return "en";
  }
  return "zh-CN";
}

function applyLanguage(lang) {
  state.lang = lang;
  document.documentElement.lang = lang;
  $("lang").value = lang;
  document.title = t("app.title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) node.placeholder = t(node.dataset.i18nPlaceholder);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  setConnection(...state.conn);
  if (!$("main").hidden) {
    render();
    if (state.detail) renderDetail(state.detail);
    if (state.ranking) renderRanking(state.ranking);
    labelDistricts();
    drawMarkers();
  }
  renderAlarm();
}

function switchLanguage(lang) {
  localStorage.setItem("onenet.lang", lang);
  applyLanguage(lang);
}

function sevName(s) { return t(`sev.${s}`); }
function statusName(s) { return t(`status.${s}`); }

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

function showSignIn(messageKey) {
  closeStream();
  $("main").hidden = true;
  $("sign-out").hidden = true;
  $("who-name").textContent = "";
  $("signin-error").textContent = messageKey ? t(messageKey) : "";
  state.alerts.clear();
  renderAlarm();
  const dialog = $("signin");
  if (!dialog.open) dialog.showModal();
  $("signin-token").focus();
  setConnection("red", "conn.signedOut");
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
      $("signin-error").textContent = t("signin.invalid");
      return;
    }
    $("signin-token").value = "";
    $("signin").close();
    await start();
  } catch (e) {
    console.error(e);
    $("signin-error").textContent = t("signin.unreachable", { error: e.message || e });
  }
}

async function signOut() {
  try {
    await api("/api/session", { method: "DELETE" });
  } catch (e) {
    /* signed out either way */
  }
  showSignIn("signin.signedOut");
}

// --- data -----------------------------------------------------------------------------------

async function start() {
  try {
    state.me = await api("/api/session");
  } catch (e) {
    if (!(e instanceof Unauthorized)) {
      showSignIn();
      $("signin-error").textContent = t("signin.unreachable", { error: e.message });
    }
    return;
  }
  $("who-name").textContent = `${state.me.name} (${state.me.role})`;
  $("sign-out").hidden = false;
  $("main").hidden = false;
  await initMap();
  await reload();
  loadRanking();
  clearInterval(state.rankTimer);
  state.rankTimer = setInterval(loadRanking, 60000);
}

async function reload() {
  setConnection("amber", "conn.loading");
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
  setConnection("amber", "conn.connecting");
  const alive = () => {
    state.lastMessage = Date.now();
    setConnection("green", "conn.live");
  };
  source.addEventListener("open", alive);
  source.addEventListener("hello", alive);
  source.addEventListener("heartbeat", alive);
  source.addEventListener("alert", (e) => {
    alive();
    onChange(JSON.parse(e.data));
  });
  source.addEventListener("reset", () => reload().catch(() => {}));
  source.addEventListener("unauthorized", () => showSignIn("signin.ended"));
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      setConnection("red", "conn.disconnected");
      // the browser gave up (e.g. 401): check the session, then start over
      setTimeout(() => start().catch(() => {}), 3000);
    } else {
      setConnection("amber", "conn.reconnecting");
    }
  });
}

setInterval(() => {
  if (state.source && state.source.readyState === EventSource.OPEN && Date.now() - state.lastMessage > STALE_MS) {
    setConnection("amber", "conn.noHeartbeat");
  }
}, 5000);

function setConnection(colour, key) {
  state.conn = [colour, key];
  $("conn-dot").dataset.state = colour;
  $("conn-dot").dataset.key = key;
  $("conn-text").textContent = t(key);
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
    range: Number($("f-range").value || 0),
    sort: $("f-sort").value,
    text: $("f-text").value.trim().toLowerCase(),
  };
}

/** Seconds since the hub first wrote the alert: never from event times, which devices set. */
function ageSeconds(item) {
  return Math.max(0, (Date.now() - Date.parse(item.first_seen_at || item.received_at)) / 1000);
}

function owner(a) {
  const lc = a.lifecycle || {};
  return lc.assigned_to || lc.acknowledged_by || "";
}

function matches(item, f) {
  const a = item.alert;
  // an alarming alert nobody acknowledged stays on the open board even if the hub resolved it
  if (f.status === "open" && a.status === "resolved" && !item.needs_acknowledgement) return false;
  if (f.status && f.status !== "open" && a.status !== f.status) return false;
  if (f.district && a.district !== f.district) return false;
  if (f.department && !a.departments.includes(f.department)) return false;
  if (f.range && ageSeconds(item) > f.range) return false;
  if (f.text) {
    const hay = [a.alert_id, a.rule, a.headline, a.key, a.category, a.district || "", owner(a), ...a.departments].join(" ").toLowerCase();
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
    for (const v of [...values].sort()) if (!have.has(v)) select.append(el("option", { value: v }, id === "f-district" ? districtName(v) : v));
    select.value = current;
  }
  const have = new Set([...$("dept-options").options].map((o) => o.value));
  for (const d of [...departments].sort()) if (!have.has(d)) $("dept-options").append(el("option", { value: d }));
}

const SORTS = {
  severity: (x, y) =>
    Number(y.needs_acknowledgement) - Number(x.needs_acknowledgement) ||
    STATUS_RANK[x.alert.status] - STATUS_RANK[y.alert.status] ||
    SEV_RANK[y.alert.severity] - SEV_RANK[x.alert.severity] ||
    ageSeconds(x) - ageSeconds(y),
  age: (x, y) => ageSeconds(x) - ageSeconds(y) || y.seq - x.seq,
  district: (x, y) =>
    (x.alert.district || "\uffff").localeCompare(y.alert.district || "\uffff") ||
    SEV_RANK[y.alert.severity] - SEV_RANK[x.alert.severity] ||
    ageSeconds(x) - ageSeconds(y),
};

function render(freshId) {
  const f = filters();
  const counts = { Extreme: 0, Severe: 0, Moderate: 0, Minor: 0 };
  const shown = [];
  for (const item of state.alerts.values()) {
    const a = item.alert;
    if (a.status !== "resolved") counts[a.severity] += 1;
    if (matches(item, f)) shown.push(item);
  }
  for (const s of SEVERITIES) $(`count-${s}`).textContent = counts[s];
  shown.sort(SORTS[f.sort] || SORTS.severity);
  state.order = shown.map((i) => i.alert.alert_id);
  const board = $("board");
  board.replaceChildren(...shown.map((item) => row(item, item.alert.alert_id === freshId)));
  $("board-empty").hidden = shown.length > 0;
  if (state.selected && !state.order.includes(state.selected) && !state.alerts.has(state.selected)) state.selected = null;
  if (!state.selected && state.order.length) select(state.order[0], false);
  markSelected();
  renderAlarm();
}

function row(item, fresh) {
  const a = item.alert;
  const unseen = item.needs_acknowledgement;
  const li = el("li", {
    id: `alert-${a.alert_id}`,
    role: "option",
    class: `${a.severity}${fresh ? " fresh" : ""}${unseen ? " unseen" : ""}`,
    "aria-selected": String(a.alert_id === state.selected),
    dataset: { alertId: a.alert_id, status: a.status, unseen: String(unseen) },
  },
  el("span", { class: `sev sev-${a.severity}` }, sevName(a.severity)),
  el("span", { class: "headline" }, a.headline,
    el("span", { class: "meta" }, a.departments.join(", "))),
  el("span", { class: "district", dataset: { code: a.district || "" } }, districtName(a.district)),
  el("span", { class: "owner" }, owner(a) || "—"),
  el("span", { class: "age" }, ago(ageSeconds(item))),
  el("span", { class: `status status-${a.status}` }, statusName(a.status),
    unseen && a.status === "resolved" ? el("span", { class: "unseen-note" }, t("board.unseenResolved")) : null));
  li.addEventListener("click", () => select(a.alert_id, true));
  return li;
}

function ago(s) {
  if (s < 5) return t("age.justNow");
  if (s < 60) return t("age.s", { n: Math.round(s) });
  if (s < 3600) return t("age.min", { n: Math.round(s / 60) });
  if (s < 86400) return t("age.h", { n: Math.round(s / 3600) });
  return t("age.d", { n: Math.round(s / 86400) });
}

function markSelected() {
  for (const li of $("board").children) {
    const on = li.dataset.alertId === state.selected;
    li.setAttribute("aria-selected", String(on));
    if (on) $("board").setAttribute("aria-activedescendant", li.id);
  }
  highlightOnMap();
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

// --- the alarm ------------------------------------------------------------------------------

function unseenItems() {
  return [...state.alerts.values()].filter((i) => i.needs_acknowledgement);
}

/** A banner and a looping sound while any Extreme or Severe alert waits for a person. */
function renderAlarm() {
  const unseen = $("main").hidden ? [] : unseenItems();
  const banner = $("alarm");
  const sound = $("alarm-sound");
  banner.hidden = unseen.length === 0;
  banner.dataset.count = String(unseen.length);
  $("alarm-text").textContent = t("alarm.text", { n: unseen.length });
  $("alarm-mute").textContent = state.muted ? t("alarm.unmute") : t("alarm.mute");
  $("alarm-mute").setAttribute("aria-pressed", String(state.muted));
  if (!unseen.length || state.muted) {
    sound.pause();
    banner.dataset.sound = state.muted && unseen.length ? "muted" : "off";
    return;
  }
  if (sound.paused) {
    sound.play().then(
      () => { banner.dataset.sound = "playing"; },
      () => {
        banner.dataset.sound = "blocked"; // autoplay refused until a click: say so
        $("alarm-mute").textContent = t("alarm.blocked");
      },
    );
  }
}

function toggleMute() {
  if ($("alarm").dataset.sound === "blocked") {
    state.muted = false;
  } else {
    state.muted = !state.muted;
  }
  localStorage.setItem("onenet.muted", state.muted ? "1" : "0");
  renderAlarm();
}

function nextUnseen() {
  const ids = state.order.filter((id) => (state.alerts.get(id) || {}).needs_acknowledgement);
  if (!ids.length) return;
  const i = ids.indexOf(state.selected);
  select(ids[(i + 1) % ids.length], true);
}

// --- detail ---------------------------------------------------------------------------------

async function loadDetail(id) {
  let detail;
  try {
    detail = await api(`/api/alerts/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!(e instanceof Unauthorized)) $("detail").replaceChildren(el("p", { class: "empty" }, t("detail.unavailable")));
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

function canAcknowledge(item) {
  return Boolean(state.me && state.me.can_act && item && (item.alert.status === "firing" || item.needs_acknowledgement));
}

function button(id, key, shortcut, enabled, action) {
  const b = el("button", { type: "button", id, "aria-keyshortcuts": shortcut }, t(key));
  b.disabled = !enabled;
  b.addEventListener("click", action);
  return b;
}

function renderDetail(detail) {
  const item = state.alerts.get(detail.item.alert.alert_id) || detail.item;
  const a = detail.item.alert;
  const lc = a.lifecycle || {};
  const canAct = Boolean(state.me && state.me.can_act);
  const open = a.status !== "resolved";
  const capLink = el("a", { href: `/api/alerts/${encodeURIComponent(a.alert_id)}/cap`, target: "_blank", rel: "noopener" }, t("detail.cap"));
  const by = (who) => t("detail.by", { who });

  const facts = [
    ["detail.status", statusName(a.status) + (item.needs_acknowledgement && !open ? ` — ${t("board.unseenResolved")}` : "")],
    ["detail.rule", a.rule],
    ["detail.category", a.category],
    ["detail.key", a.key],
    ["detail.district", a.district ? `${districtName(a.district)} (${a.district})` : "—"],
    ["detail.departments", a.departments.join(", ") || "—"],
    ["detail.firstEvent", fmt(a.first_event_time)],
    ["detail.lastEvent", fmt(a.last_event_time)],
    ["detail.firstSeen", fmt(item.first_seen_at)],
    ["detail.acknowledged", lc.acknowledged_by ? `${lc.acknowledged_by}, ${fmt(lc.acknowledged_at)}` : "—"],
    ["detail.resolved", lc.resolved_by ? `${lc.resolved_by}, ${fmt(lc.resolved_at)}${lc.resolution_note ? ` — ${lc.resolution_note}` : ""}` : "—"],
    ["detail.assigned", lc.assigned_to || "—"],
    ["detail.alertId", a.alert_id],
  ];
  const dl = el("dl", {});
  for (const [k, v] of facts) dl.append(el("dt", {}, t(k)), el("dd", {}, v));

  // the timeline: evidence events, then what people did (comments, acknowledgement, resolution)
  const moments = detail.evidence.map((e) => ({ t: e.time, kind: e.type.replace(/^city\./, ""), text: summary(e), person: false }));
  if (lc.acknowledged_at) moments.push({ t: lc.acknowledged_at, kind: t("kind.acknowledged"), text: by(lc.acknowledged_by), person: true });
  if (lc.resolved_at) moments.push({ t: lc.resolved_at, kind: t("kind.resolved"), text: `${by(lc.resolved_by)}${lc.resolution_note ? `: ${lc.resolution_note}` : ""}`, person: true });
  for (const c of lc.comments || []) moments.push({ t: c.at, kind: t("kind.comment"), text: `${c.actor}: ${c.text}`, person: true });
  moments.sort((x, y) => Date.parse(x.t) - Date.parse(y.t));
  const timeline = el("ol", { class: "timeline", "aria-label": t("detail.timelineLabel") },
    ...moments.map((m) => el("li", { class: m.person ? "person" : "" }, el("time", { datetime: m.t }, fmt(m.t)), el("span", { class: "kind" }, m.kind), m.text)));
  const missing = detail.missing_evidence.length ? el("p", { class: "empty" }, t("detail.missing", { n: detail.missing_evidence.length })) : null;

  $("detail").replaceChildren(...[
    el("h2", { class: `sev-${a.severity}` }, `${sevName(a.severity)} · ${a.headline}`),
    el("div", { class: "actions" },
      button("btn-ack", "detail.acknowledge", "a", canAcknowledge(item), () => acknowledge(a.alert_id)),
      button("btn-resolve", "detail.resolve", "r", canAct && open, () => resolve(a.alert_id)),
      button("btn-comment", "detail.comment", "c", canAct, () => comment(a.alert_id)),
      button("btn-assign", "detail.assign", "g", canAct && open, () => assign(a.alert_id)),
      capLink),
    dl,
    el("h2", {}, t("detail.timeline")),
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
  const box = $("toast");
  box.textContent = text;
  box.classList.toggle("error", Boolean(error));
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

async function send(id, action, body, okKey, failKey) {
  try {
    await api(`/api/alerts/${encodeURIComponent(id)}/${action}`, { method: "POST", body });
    toast(t(okKey));
  } catch (e) {
    if (!(e instanceof Unauthorized)) toast(t(failKey, { error: e.message }), true);
  }
}

function acknowledge(id) {
  if (!canAcknowledge(state.alerts.get(id))) return;
  send(id, "acknowledge", {}, "toast.ackSent", "toast.ackFailed");
}

/** The note dialog serves resolve (a note is required) and comment. */
function askNote(id, mode) {
  const dialog = $("note-dialog");
  $("note-text").value = "";
  dialog.dataset.alertId = id;
  dialog.dataset.mode = mode;
  $("note-title").textContent = t(`note.${mode}Title`);
  $("note-label").textContent = t(`note.${mode}Label`);
  $("note-ok").textContent = t(`note.${mode}Ok`);
  dialog.showModal();
  $("note-text").focus();
}

function resolve(id) {
  const item = state.alerts.get(id);
  if (!item || !state.me.can_act || item.alert.status === "resolved") return;
  askNote(id, "resolve");
}

function comment(id) {
  if (!state.alerts.get(id) || !state.me.can_act) return;
  askNote(id, "comment");
}

function submitNote(event) {
  event.preventDefault();
  const dialog = $("note-dialog");
  const text = $("note-text").value.trim();
  if (!text) return;
  dialog.close();
  const id = dialog.dataset.alertId;
  if (dialog.dataset.mode === "comment") send(id, "comment", { text }, "toast.commentSent", "toast.commentFailed");
  else send(id, "resolve", { note: text }, "toast.resolveSent", "toast.resolveFailed");
}

function assign(id) {
  const item = state.alerts.get(id);
  if (!item || !state.me.can_act || item.alert.status === "resolved") return;
  const dialog = $("assign-dialog");
  $("assign-dept").value = "";
  dialog.dataset.alertId = id;
  dialog.showModal();
  $("assign-dept").focus();
}

function submitAssign(event) {
  event.preventDefault();
  const input = $("assign-dept");
  if (!input.reportValidity()) return;
  const dialog = $("assign-dialog");
  dialog.close();
  send(dialog.dataset.alertId, "assign", { department: input.value.trim() }, "toast.assignSent", "toast.assignFailed");
}

// --- map ------------------------------------------------------------------------------------
// Leaflet (vendored) with no tile layer: the basemap is the city's district boundaries, shipped
// by the view as GeoJSON. Alerts are markers (clustered when dense); the selected one is ringed.

const SEV_COLOUR = { Extreme: "#ff4d4f", Severe: "#ff8c1a", Moderate: "#f5d90a", Minor: "#3fb5ff" };
const DISTRICT_COLOURS = ["#24415e", "#2b4a3a", "#4a3b5e", "#5a4526", "#23505a", "#4d2f3c", "#3d4a22", "#2f3a63", "#553322", "#2a4f4f"];

function scheduleMap(delay) {
  clearTimeout(state.mapTimer);
  state.mapTimer = setTimeout(() => drawMarkers(), delay);
}

/** District names from the boundary file: the board and the map show names, not codes. */
function districtName(code) {
  const d = state.districtNames && state.districtNames[code];
  if (!d) return code || "—";
  return state.lang === "en" ? d.en : d.zh;
}

async function initMap() {
  if (state.map) return;
  // no tile layer sets the zoom range, so the map does: city-wide to street level
  const map = L.map("map", { zoomSnap: 0.25, minZoom: 7, maxZoom: 17, attributionControl: false, keyboard: false });
  state.map = map;
  map.createPane("districts").style.zIndex = 300;
  L.control.scale({ metric: true, imperial: false, position: "bottomleft" }).addTo(map);
  state.legend = L.control({ position: "bottomright" });
  state.legend.onAdd = () => el("div", { class: "legend", id: "map-legend" });
  state.legend.addTo(map);
  state.clusters = L.markerClusterGroup({ maxClusterRadius: 40, showCoverageOnHover: false, spiderfyOnMaxZoom: true,
    iconCreateFunction: (cluster) => {
      const worst = cluster.getAllChildMarkers().reduce((w, m) => (SEV_RANK[m.options.severity] > SEV_RANK[w] ? m.options.severity : w), "Minor");
      return L.divIcon({ html: "", className: `alert-cluster ${worst}`, iconSize: [34, 34] });
    } });
  map.addLayer(state.clusters);
  state.markers = new Map();
  let geo = null;
  try {
    const response = await fetch("/static/map/districts.geojson", { credentials: "same-origin" });
    geo = await response.json();
  } catch (e) {
    geo = null;
  }
  state.districtNames = {};
  if (geo) {
    geo.features.forEach((f, i) => {
      state.districtNames[f.properties.code] = { zh: f.properties.name_zh, en: f.properties.name_en };
      f.properties.colour = DISTRICT_COLOURS[i % DISTRICT_COLOURS.length];
    });
    state.districtLayer = L.geoJSON(geo, {
      pane: "districts",
      style: (f) => ({ className: `district d-${f.properties.code}`, color: "#8b9bb0", weight: 1.2, fillColor: f.properties.colour, fillOpacity: 0.55 }),
      onEachFeature: (f, layer) => layer.bindTooltip("", { permanent: true, direction: "center", className: "district-label" }),
    }).addTo(map);
    map.fitBounds(state.districtLayer.getBounds(), { padding: [8, 8] });
  } else {
    map.setView([38.92, 121.63], 10);
  }
  labelDistricts();
  drawMarkers();
}

function labelDistricts() {
  if (state.districtLayer) {
    state.districtLayer.eachLayer((layer) => {
      const code = layer.feature.properties.code;
      layer.setTooltipContent(districtName(code));
      // a label at the largest polygon's centre: islands and exclaves do not pull it out to sea
      const parts = layer.getLayers ? layer.getLayers() : [layer];
      let best = null, area = -1;
      for (const poly of parts) {
        const b = poly.getBounds();
        const a = (b.getNorth() - b.getSouth()) * (b.getEast() - b.getWest());
        if (a > area) { area = a; best = b; }
      }
      if (best && layer.getTooltip()) layer.getTooltip().setLatLng(best.getCenter());
    });
  }
  const legend = $("map-legend");
  if (legend) {
    legend.replaceChildren(el("strong", {}, t("map.legend")),
      ...SEVERITIES.map((s) => el("div", {}, el("span", { class: `swatch dot ${s}` }), sevName(s))),
      el("div", {}, el("span", { class: "swatch cluster" }), t("map.cluster")),
      el("div", {}, el("span", { class: "swatch ring" }), t("map.selected")),
      el("div", {}, el("span", { class: "swatch district" }), t("map.district")));
  }
}

/** One marker per alert on the open board (or needing a look), at its location. */
function drawMarkers() {
  if (!state.map) return;
  const wanted = new Map();
  for (const item of state.alerts.values()) {
    const a = item.alert;
    if (!a.location || (a.status === "resolved" && !item.needs_acknowledgement)) continue;
    wanted.set(a.alert_id, item);
  }
  const stale = [];
  for (const [id, m] of state.markers) {
    const item = wanted.get(id);
    if (!item || m.options.severity !== item.alert.severity) { stale.push(m); state.markers.delete(id); }
  }
  state.clusters.removeLayers(stale);
  const fresh = [];
  for (const [id, item] of wanted) {
    const a = item.alert;
    if (state.markers.has(id)) {
      state.markers.get(id).setTooltipContent(`${sevName(a.severity)} · ${a.headline}`);
      continue;
    }
    const m = L.marker([a.location.lat, a.location.lon], {
      severity: a.severity,
      alertId: id,
      keyboard: false,
      icon: L.divIcon({ html: "", className: `alert-marker ${a.severity}`, iconSize: [22, 22] }),
    });
    m.bindTooltip(`${sevName(a.severity)} · ${a.headline}`);
    m.on("add", () => { const e = m.getElement(); if (e) { e.dataset.alertId = id; e.classList.toggle("selected", id === state.selected); } });
    m.on("click", () => select(id, true));
    state.markers.set(id, m);
    fresh.push(m);
  }
  state.clusters.addLayers(fresh);
  const districts = state.districtNames ? Object.keys(state.districtNames).length : 0;
  $("map-caption").textContent = wanted.size || districts ? t("map.caption", { n: wanted.size, d: districts }) : t("map.none");
  highlightOnMap();
}

function highlightOnMap() {
  if (!state.map) return;
  for (const [id, m] of state.markers) {
    const e = m.getElement();
    if (e) e.classList.toggle("selected", id === state.selected);
  }
  const m = state.markers.get(state.selected);
  if (state.ring) { state.ring.remove(); state.ring = null; }
  if (!m) return;
  state.ring = L.circleMarker(m.getLatLng(), { radius: 20, className: "selected-ring", interactive: false }).addTo(state.map);
  // a selected alert hidden in a cluster or off screen is brought into view, at street level
  const visible = state.clusters.getVisibleParent(m) === m && state.map.getBounds().contains(m.getLatLng());
  if (!visible && state.lastShown !== state.selected) {
    state.lastShown = state.selected;
    state.map.setView(m.getLatLng(), Math.max(state.map.getZoom(), 12), { animate: false });
  }
}

// --- red/black list -------------------------------------------------------------------------

async function loadRanking() {
  try {
    state.ranking = await api("/api/departments/ranking?size=3");
  } catch (e) {
    return;
  }
  renderRanking(state.ranking);
}

function renderRanking(r) {
  const params = { h: r.deadline_hours, d: r.window_days, t: Math.round(r.target * 100) };
  $("rank-window").textContent = t("rank.window", params);
  $("rank-meaning").textContent = t("rank.meaning", params);
  const trend = (s) => {
    if (s.trend === null || s.trend === undefined) return el("span", { class: "trend none", title: t("rank.trendNew") }, "·");
    const points = (s.trend * 100).toFixed(1);
    const arrow = s.trend > 0 ? "▲" : s.trend < 0 ? "▼" : "▶";
    const text = `${arrow} ${s.trend > 0 ? "+" : ""}${points}`;
    return el("span", { class: `trend ${s.trend > 0 ? "up" : s.trend < 0 ? "down" : "flat"}`, title: t("rank.trend", { delta: text }) }, text);
  };
  const line = (s) => el("li", { dataset: { department: s.department, compliance: String(s.compliance) } }, s.department,
    el("span", { class: "pct" }, `${(s.compliance * 100).toFixed(1)} %`), " ", trend(s),
    el("span", { class: "sub" }, ` ${s.closed_on_time}/${s.closed_on_time + s.closed_late + s.open_overdue}`));
  $("red-list").replaceChildren(...(r.red.length ? r.red.map(line) : [el("li", { class: "empty" }, t("rank.noRed"))]));
  $("black-list").replaceChildren(...(r.black.length ? r.black.map(line) : [el("li", { class: "empty" }, t("rank.noBlack"))]));
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
  if ($("main").hidden) return;
  switch (e.key) {
    case "j": case "ArrowDown": move(1); break;
    case "k": case "ArrowUp": move(-1); break;
    case "a": if (state.selected) acknowledge(state.selected); break;
    case "r": if (state.selected) resolve(state.selected); break;
    case "c": if (state.selected) comment(state.selected); break;
    case "g": if (state.selected) assign(state.selected); break;
    case "n": nextUnseen(); break;
    case "m": toggleMute(); break;
    case "L": switchLanguage(state.lang === "en" ? "zh-CN" : "en"); break;
    case "/": $("f-text").focus(); break;
    case "Escape": $("f-text").value = ""; render(); break;
    default: return;
  }
  e.preventDefault();
}

// --- wiring ---------------------------------------------------------------------------------

async function loadCatalogue() {
  try {
    const response = await fetch("/static/i18n.json", { credentials: "same-origin" });
    state.catalogue = await response.json();
  } catch (e) {
    state.catalogue = {}; // keys show through; the page still works
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("signin-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("note-form").addEventListener("submit", submitNote);
  $("note-cancel").addEventListener("click", () => $("note-dialog").close());
  $("note-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey) { // Enter sends, Shift+Enter breaks the line
      e.preventDefault();
      $("note-form").requestSubmit();
    }
  });
  $("assign-form").addEventListener("submit", submitAssign);
  $("assign-cancel").addEventListener("click", () => $("assign-dialog").close());
  $("signin").addEventListener("cancel", (e) => e.preventDefault()); // signing in is not optional
  for (const id of ["f-status", "f-district", "f-department", "f-range", "f-sort"]) $(id).addEventListener("change", () => render());
  $("f-text").addEventListener("input", () => render());
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("lang").addEventListener("change", () => switchLanguage($("lang").value));
  $("alarm-mute").addEventListener("click", toggleMute);
  $("alarm-next").addEventListener("click", nextUnseen);
  document.addEventListener("keydown", onKey);
  setInterval(() => { if (!$("main").hidden) render(); }, 15000); // refresh "n min ago"
  await loadCatalogue();
  applyLanguage(chooseLanguage());
  start();
});
