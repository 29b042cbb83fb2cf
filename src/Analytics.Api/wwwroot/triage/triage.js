// The triage page: plain DOM code over the triage API (/api/triage/clusters). The API key is pasted once and kept
// in this browser tab's sessionStorage (gone when the tab closes); every request sends it as X-Api-Key. Open a cluster directly with #cluster=<id>.
"use strict";

const keyStorage = "analytics.apiKey";
const state = { clusters: [], sortKey: null, sortDescending: true, current: null, chart: null };
const $ = (id) => document.getElementById(id);

function apiKey() { return sessionStorage.getItem(keyStorage) || ""; }

function say(text, ok) {
  $("message").textContent = text || "";
  $("message").className = ok ? "ok" : "";
}

async function api(path, options = {}) {
  const headers = { "X-Api-Key": apiKey(), ...(options.body ? { "Content-Type": "application/json" } : {}) };
  const response = await fetch(path, { ...options, headers });
  if (!response.ok) {
    let detail = response.statusText;
    try { const problem = await response.json(); detail = problem.title + (problem.detail ? ": " + problem.detail : ""); } catch { /* not JSON */ }
    const error = new Error(`${response.status} ${detail}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

function text(value) { return value === null || value === undefined ? "" : String(value); }

function cell(row, value, className) {
  const td = document.createElement("td");
  td.textContent = text(value);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

async function loadList() {
  const query = new URLSearchParams({ sort: $("sort").value });
  for (const [name, id] of [["model", "filter-model"], ["capability", "filter-capability"], ["severity", "filter-severity"], ["state", "filter-state"]]) {
    if ($(id).value.trim()) query.set(name, $(id).value.trim());
  }
  try {
    state.clusters = await api(`/api/triage/clusters?${query}`);
    renderList();
    say(`${state.clusters.length} clusters`, true);
  } catch (error) {
    state.clusters = [];
    renderList();
    say(error.status === 401 ? "Paste an API key first (401)." : `Could not load clusters: ${error.message}`);
  }
}

function sortedClusters() {
  if (!state.sortKey) return state.clusters;
  const key = state.sortKey;
  const sign = state.sortDescending ? -1 : 1;
  return [...state.clusters].sort((a, b) => {
    const x = a[key], y = b[key];
    if (x === y) return 0;
    if (x === null || x === undefined) return 1;
    if (y === null || y === undefined) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

function renderList() {
  const body = document.querySelector("#clusters tbody");
  body.replaceChildren();
  for (const c of sortedClusters()) {
    const row = document.createElement("tr");
    row.dataset.clusterId = c.clusterId;
    if (state.current && state.current.cluster.clusterId === c.clusterId) row.classList.add("selected");
    const label = cell(row, c.label);
    if (c.isNew) label.insertAdjacentHTML("beforeend", '<span class="flag new">new</span>');
    if (c.isGrowing) label.insertAdjacentHTML("beforeend", '<span class="flag growing">growing</span>');
    cell(row, c.modelId); cell(row, c.capability); cell(row, c.reason);
    cell(row, c.size, "num"); cell(row, c.thisWindow, "num"); cell(row, c.lastWindow, "num");
    cell(row, c.state, `state state-${c.state}`); cell(row, c.severity ?? "—"); cell(row, c.assignee ?? "—");
    row.addEventListener("click", () => openCluster(c.clusterId));
    body.appendChild(row);
  }
  document.querySelectorAll("#clusters th").forEach((th) => {
    th.classList.toggle("sorted-asc", th.dataset.key === state.sortKey && !state.sortDescending);
    th.classList.toggle("sorted-desc", th.dataset.key === state.sortKey && state.sortDescending);
  });
}

async function openCluster(id) {
  try {
    const [detail, events] = await Promise.all([api(`/api/triage/clusters/${id}`), api(`/api/triage/clusters/${id}/history`)]);
    state.current = detail;
    events.reverse();
    renderDetail(detail, events);
    renderList();
    if (location.hash !== `#cluster=${id}`) window.history.replaceState(null, "", `#cluster=${id}`);
  } catch (error) {
    say(`Could not open cluster ${id}: ${error.message}`);
  }
}

function renderDetail(detail, events) {
  const c = detail.cluster;
  $("detail").hidden = false;
  $("detail").dataset.clusterId = c.clusterId;
  $("detail-label").textContent = c.label;
  $("detail-group").textContent = `${c.modelId} · ${c.capability} · ${c.reason} · ${c.size} items`;
  $("detail-state").textContent = c.state;
  $("detail-severity").textContent = c.severity ?? "—";
  $("detail-category").textContent = c.category ?? "—";
  $("detail-assignee").textContent = c.assignee ?? "—";
  $("detail-version").textContent = c.version;
  $("detail-growth").textContent = `last 24 h: ${c.thisWindow}, the 24 h before: ${c.lastWindow}` +
    (c.growth === null ? "" : ` (×${c.growth})`) + (c.fixReference ? ` · fix: ${c.fixReference}` : "") + ` · as of ${detail.asOf}`;

  const samples = $("samples");
  samples.replaceChildren();
  for (const s of detail.samples) {
    const li = document.createElement("li");
    li.textContent = s.comment ?? "(no comment)";
    const prompt = document.createElement("div");
    prompt.className = "prompt";
    prompt.textContent = `prompt: ${s.promptExcerpt ?? "—"} · ${s.modelVersion} · ${s.occurredAt}`;
    li.appendChild(prompt);
    samples.appendChild(li);
  }

  const list = $("history");
  list.replaceChildren();
  for (const e of events) {
    const li = document.createElement("li");
    const details = Object.entries(e.details).map(([k, v]) => `${k}: ${v}`).join(", ");
    li.textContent = `v${e.version} ${e.event} by ${e.actor} at ${e.at}${details ? " — " + details : ""}`;
    list.appendChild(li);
  }

  drawChart(detail.daily);
}

function drawChart(daily) {
  const data = { labels: daily.map((d) => d.day), datasets: [{ label: "items per day", data: daily.map((d) => d.items), backgroundColor: "#4c6ef5" }] };
  if (state.chart) state.chart.destroy();
  state.chart = new Chart($("daily-chart"), {
    type: "bar",
    data,
    options: { animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

async function act(action, body) {
  if (!state.current) return;
  const c = state.current.cluster;
  try {
    const accepted = await api(`/api/triage/clusters/${c.clusterId}/${action}`, {
      method: "POST",
      body: JSON.stringify({ ...body, expectedVersion: c.version }),
    });
    say(`${accepted.event} recorded (version ${accepted.version}).`, true);
  } catch (error) {
    say(error.status === 409 ? `Someone changed this cluster first; reloaded it. (${error.message})`
      : error.status === 403 ? "This needs a triager key (403)." : `${action} failed: ${error.message}`);
  }
  await Promise.all([openCluster(c.clusterId), loadList()]);
}

function wire() {
  $("api-key").value = apiKey();
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(keyStorage, $("api-key").value.trim());
    loadList();
  });
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); loadList(); });
  $("sort").addEventListener("change", () => { state.sortKey = null; loadList(); });
  document.querySelectorAll("#clusters th").forEach((th) => th.addEventListener("click", () => {
    state.sortDescending = state.sortKey === th.dataset.key ? !state.sortDescending : true;
    state.sortKey = th.dataset.key;
    renderList();
  }));
  $("close-detail").addEventListener("click", () => { $("detail").hidden = true; state.current = null; window.history.replaceState(null, "", location.pathname + location.search); renderList(); });
  $("assign-form").addEventListener("submit", (e) => { e.preventDefault(); act("assign", { assignee: $("assignee").value }); });
  $("label-form").addEventListener("submit", (e) => { e.preventDefault(); act("label", { severity: $("severity").value, category: $("category").value }); });
  $("note-form").addEventListener("submit", (e) => { e.preventDefault(); act("notes", { note: $("note").value }); });
  $("resolve-form").addEventListener("submit", (e) => { e.preventDefault(); act("resolve", { fixReference: $("fix-reference").value }); });

  const params = new URLSearchParams(location.search);
  for (const [name, id] of [["model", "filter-model"], ["capability", "filter-capability"], ["severity", "filter-severity"], ["state", "filter-state"], ["sort", "sort"]]) {
    if (params.get(name)) $(id).value = params.get(name);
  }
  loadList();
  const linked = /^#cluster=([0-9a-f-]{36})$/i.exec(location.hash);
  if (linked) openCluster(linked[1]);
}

wire();
