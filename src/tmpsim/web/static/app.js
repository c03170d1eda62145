// tmpsim dashboard: plain JavaScript, no framework, no network beyond this server.
"use strict";

const state = {
  options: null,
  scenario: null,      // description of the chosen base scenario (from the server)
  runs: new Map(),     // id -> last status
  polling: new Map(),  // id -> timer
  current: null,       // id of the run whose progress is shown
  shown: null,         // id of the run whose results are shown
};
const PLOT_CONFIG = {responsive: true, displaylogo: false};
const POLL_MS = 500;

function $(sel) { return document.querySelector(sel); }

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) node.append(c);
  return node;
}

function showError(box, message) {
  box.textContent = message || "";
  box.hidden = !message;
}

async function api(method, url, body) {
  const init = {method, headers: {}};
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    throw new Error("the dashboard server did not answer (" + err.message + ")");
  }
  let payload = null;
  try { payload = await response.json(); } catch (err) { payload = null; }
  if (!response.ok) {
    const message = payload && payload.error ? payload.error : response.status + " " + response.statusText;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return payload;
}

// ---- controls -------------------------------------------------------------------------------

function controlId(prefix, name) { return prefix + "-" + name.replace(/[^A-Za-z0-9_-]/g, "_"); }

function renderControl(prefix, spec) {
  const id = controlId(prefix, spec.name);
  const wrap = el("div", {class: "control", dataset: {name: spec.name, kind: spec.kind, group: prefix}});
  const unit = spec.unit === "currency" && state.scenario ? state.scenario.currency : spec.unit;
  const labelText = spec.label + (unit ? " (" + unit + ")" : "");
  let input;
  if (spec.kind === "bool") {
    input = el("input", {type: "checkbox", id, name: id});
    input.checked = Boolean(spec.default);
    wrap.classList.add("checkbox");
    wrap.append(input, el("label", {for: id, text: labelText}));
  } else if (spec.kind === "choice") {
    input = el("select", {id, name: id});
    for (const c of spec.choices) input.append(el("option", {value: c, text: c}));
    input.value = spec.default;
    wrap.append(el("label", {for: id, text: labelText}), input);
  } else {
    input = el("input", {type: "number", id, name: id, step: spec.step || "any"});
    if (spec.minimum !== null) input.min = spec.minimum;
    if (spec.maximum !== null) input.max = spec.maximum;
    input.value = spec.default;
    wrap.append(el("label", {for: id, text: labelText}));
    if (spec.minimum !== null && spec.maximum !== null && spec.maximum - spec.minimum <= 1000) {
      const slider = el("input", {type: "range", min: spec.minimum, max: spec.maximum,
        step: spec.step || "any", "aria-label": spec.label + " slider", tabindex: "-1"});
      slider.value = spec.default;
      slider.addEventListener("input", () => { input.value = slider.value; });
      input.addEventListener("input", () => { slider.value = input.value; });
      wrap.append(el("div", {class: "slider-row"}, slider, input));
    } else {
      wrap.append(input);
    }
  }
  input.dataset.default = JSON.stringify(spec.default);
  if (spec.help) wrap.append(el("p", {class: "hint", text: spec.help}));
  return wrap;
}

function readControl(wrap) {
  const id = controlId(wrap.dataset.group, wrap.dataset.name);
  const input = document.getElementById(id);
  const kind = wrap.dataset.kind;
  let value;
  if (kind === "bool") value = input.checked;
  else if (kind === "choice") value = input.value;
  else value = input.value === "" ? null : Number(input.value);
  return {name: wrap.dataset.name, value, changed: JSON.stringify(value) !== input.dataset.default};
}

function changedValues(container) {
  const out = {};
  for (const wrap of container.querySelectorAll(".control")) {
    const c = readControl(wrap);
    if (c.changed) out[c.name] = c.value;
  }
  return out;
}

function renderParameters() {
  const box = $("#parameter-controls");
  box.replaceChildren(...state.scenario.parameters.map(p => renderControl("param", p)));
}

function renderLevers() {
  const box = $("#lever-controls");
  box.replaceChildren(...state.options.levers.map(l => renderControl("lever", l)));
  $("#levers-note").textContent = state.options.levers_note || "";
}

function applyScenario(description) {
  state.scenario = description;
  $("#scenario-description").textContent = description.description || "";
  const end = $("#end");
  end.min = description.min_end;
  end.max = description.end;
  end.value = description.end;
  $("#window-hint").textContent = "The scenario runs " + description.start + " to " + description.end +
    "; an earlier end is quicker (later events are left out).";
  renderParameters();
  renderLevers();
}

async function chooseScenario(key) {
  const description = await api("GET", "/api/scenarios/" + encodeURIComponent(key));
  applyScenario(description);
}

// ---- upload ---------------------------------------------------------------------------------

function readChosenFile() {
  const file = $("#upload-file").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => { $("#upload-text").value = reader.result; };
  reader.readAsText(file);
}

async function checkUpload() {
  const text = $("#upload-text").value;
  const file = $("#upload-file").files[0];
  const name = file ? file.name : "pasted-scenario.yaml";
  showError($("#upload-error"), "");
  $("#upload-ok").hidden = true;
  if (!text.trim()) { showError($("#upload-error"), "Choose a file or paste a scenario first."); return; }
  const form = new FormData();
  form.append("file", new Blob([text], {type: "text/yaml"}), name);
  try {
    const description = await api("POST", "/api/uploads", form);
    const select = $("#scenario");
    select.append(el("option", {value: description.key, text: description.label}));
    select.value = description.key;
    applyScenario(description);
    $("#upload-ok").textContent = "Scenario checked and selected: " + description.label;
    $("#upload-ok").hidden = false;
  } catch (err) {
    showError($("#upload-error"), err.message);  // the text area and every control keep their values
  }
}

// ---- runs -----------------------------------------------------------------------------------

async function startRun(event) {
  event.preventDefault();
  showError($("#form-error"), "");
  const body = {
    scenario: $("#scenario").value,
    seed: Number($("#seed").value),
    scale: Number($("#scale").value),
    end: $("#end").value || null,
    label: $("#label").value,
    parameters: changedValues($("#parameter-controls")),
    levers: changedValues($("#lever-controls")),
  };
  if (body.end === state.scenario.end) body.end = null;
  try {
    const status = await api("POST", "/api/runs", body);
    state.runs.set(status.id, status);
    state.current = status.id;
    renderRuns();
    showProgress(status);
    poll(status.id);
  } catch (err) {
    showError($("#form-error"), err.message);
  }
}

function poll(id) {
  const tick = async () => {
    let status;
    try {
      status = await api("GET", "/api/runs/" + id);
    } catch (err) {
      state.polling.delete(id);
      showError($("#form-error"), err.message);
      return;
    }
    state.runs.set(id, status);
    if (state.current === id) showProgress(status);
    renderRuns();
    if (status.state === "starting" || status.state === "running") {
      state.polling.set(id, setTimeout(tick, POLL_MS));
    } else {
      state.polling.delete(id);
      if (status.state === "done") await showResults(id).catch(err => showError($("#form-error"), err.message));
      renderCompareChoices();
    }
  };
  state.polling.set(id, setTimeout(tick, POLL_MS));
}

function showProgress(status) {
  const panel = $("#progress-panel");
  panel.hidden = false;
  panel.dataset.state = status.state;
  $("#progress-label").textContent = status.label;
  $("#progress-bar").value = status.state === "done" ? 1 : status.fraction;
  let text;
  if (status.state === "done") {
    text = "finished: " + status.total + " days simulated in " + status.elapsed + " s";
  } else {
    text = status.state + ": " + status.phase;
    if (status.total) text += " (" + status.done + " of " + status.total + " days)";
    text += ", " + status.elapsed + " s";
  }
  if (status.error) text = "failed: " + status.error;
  $("#progress-text").textContent = text;
  $("#cancel").hidden = !(status.state === "starting" || status.state === "running");
}

function downloadLinks(status) {
  if (status.state !== "done") return el("span", {text: ""});
  const base = "/api/runs/" + status.id + "/";
  const links = [["monthly.xlsx", "Excel (monthly)"], ["monthly.csv", "CSV (monthly)"],
                 ["series.csv", "CSV (daily)"], ["series.parquet", "Parquet"],
                 ["scenario.yaml", "scenario"], ["report.html", "report"]];
  return el("span", {class: "downloads"}, ...links.map(([file, text]) =>
    el("a", {href: base + file, download: "", class: "download-" + file.replace(".", "-"), text})));
}

function renderRuns() {
  const body = $("#runs tbody");
  const rows = [];
  for (const status of state.runs.values()) {
    const show = el("button", {type: "button", class: "secondary show-run", text: "show",
      disabled: status.state !== "done"});
    show.addEventListener("click", () => showResults(status.id).catch(err =>
      showError($("#form-error"), err.message)));
    rows.push(el("tr", {dataset: {runId: status.id, state: status.state}},
      el("td", {text: status.label}),
      el("td", {class: "state", text: status.state + (status.state === "running"
        ? " " + Math.round(status.fraction * 100) + "%" : "")}),
      el("td", {}, downloadLinks(status)),
      el("td", {}, show)));
  }
  body.replaceChildren(...rows);
  $("#runs").hidden = rows.length === 0;
  $("#runs-empty").hidden = rows.length > 0;
}

async function plot(div, figure) {
  div.dataset.rendered = "";
  await Plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
  div.dataset.rendered = "1";
  div.dataset.traces = String(figure.data.length);
}

function fillSummary(tbody, rows) {
  tbody.replaceChildren(...rows.map(([label, value]) =>
    el("tr", {}, el("th", {scope: "row", text: label}), el("td", {class: "num", text: value}))));
}

async function showResults(id) {
  const status = state.runs.get(id);
  const section = $("#results");
  section.hidden = false;
  section.dataset.runId = id;
  section.dataset.ready = "";
  $("#results-label").textContent = status.label;
  $("#results-notes").textContent = (status.notes || []).join("; ");
  const payload = await api("GET", "/api/runs/" + id + "/charts");
  fillSummary($("#summary tbody"), payload.summary);
  $("#observed-note").textContent = payload.observed_note || "";
  const jobs = [];
  // Charts only some runs have (the sending market's) are shown when the run has them.
  for (const div of document.querySelectorAll("#results .chart.optional")) div.hidden = true;
  for (const [key, figure] of Object.entries(payload.figures)) {
    const div = document.getElementById("chart-" + key);
    if (!div) continue;
    div.hidden = false;
    jobs.push(plot(div, figure));
  }
  await Promise.all(jobs);
  state.shown = id;
  section.dataset.ready = "1";
}

// ---- compare --------------------------------------------------------------------------------

function renderCompareChoices() {
  const done = [...state.runs.values()].filter(s => s.state === "done");
  $("#compare").hidden = done.length < 2;
  if (done.length < 2) return;
  for (const [sel, pick] of [["#compare-a", done.length - 2], ["#compare-b", done.length - 1]]) {
    const select = $(sel);
    const previous = select.value;
    select.replaceChildren(...done.map(s => el("option", {value: s.id, text: s.label})));
    select.value = done.some(s => s.id === previous) ? previous : done[pick].id;
  }
}

function describeConfig(status) {
  const c = status.config;
  const changes = Object.entries(Object.assign({}, c.parameters, c.levers))
    .map(([k, v]) => k + " = " + v);
  // A run kept by an earlier server without its record: what was changed is not known.
  const changed = c.recovered ? "; changes not recorded (see its scenario file)"
    : changes.length ? "; changed: " + changes.join(", ") : "; no change to the scenario";
  return c.scenario + ", seed " + c.seed + ", scale " + c.scale + ", " + c.start + " to " + c.end +
    changed;
}

async function compare() {
  const a = $("#compare-a").value, b = $("#compare-b").value;
  const result = $("#compare-result");
  showError($("#compare-error"), "");
  result.dataset.ready = "";
  try {
    const payload = await api("GET", "/api/compare?a=" + encodeURIComponent(a) + "&b=" + encodeURIComponent(b));
    result.hidden = false;
    const tbody = $("#compare-table tbody");
    tbody.replaceChildren(...payload.rows.map(r => el("tr", {},
      el("th", {scope: "row", text: r.figure}), el("td", {class: "num", text: r.a}),
      el("td", {class: "num", text: r.b}), el("td", {class: "num", text: r.difference}),
      el("td", {class: "num", text: r.percent}))));
    const [charts_a, charts_b] = await Promise.all([
      api("GET", "/api/runs/" + a + "/charts"), api("GET", "/api/runs/" + b + "/charts")]);
    const jobs = [];
    const ymax = Math.max(maxOf(charts_a.figures.stranded), maxOf(charts_b.figures.stranded)) * 1.05 || 1;
    for (const [side, status, charts] of [["a", payload.a, charts_a], ["b", payload.b, charts_b]]) {
      const box = document.getElementById("side-" + side);
      box.querySelector("h3").textContent = side.toUpperCase() + ": " + status.label;
      box.querySelector(".config").textContent = describeConfig(status);
      fillSummary(box.querySelector("tbody"), charts.summary.slice(0, 6));
      const fig = JSON.parse(JSON.stringify(charts.figures.stranded));
      fig.layout.yaxis.range = [0, ymax];
      fig.layout.title.text = "Stranded workers (" + side.toUpperCase() + ")";
      jobs.push(plot(document.getElementById("chart-side-" + side), fig));
    }
    const box = $("#compare-charts");
    box.replaceChildren();
    for (const [key, figure] of Object.entries(payload.figures)) {
      const div = el("div", {class: "chart", id: "compare-chart-" + key});
      box.append(div);
      jobs.push(plot(div, figure));
    }
    await Promise.all(jobs);
    result.dataset.ready = "1";
  } catch (err) {
    showError($("#compare-error"), err.message);
  }
}

function maxOf(figure) {
  let m = 0;
  for (const trace of figure.data) for (const v of trace.y || []) if (v !== null && v > m) m = v;
  return m;
}

// ---- start ----------------------------------------------------------------------------------

async function init() {
  try {
    state.options = await api("GET", "/api/options");
  } catch (err) {
    showError($("#form-error"), err.message);
    return;
  }
  const limits = state.options.limits;
  const scale = $("#scale");
  scale.min = limits.min_scale;
  scale.max = limits.max_scale;
  $("#scale-hint").textContent = "Between " + limits.min_scale + " and " + limits.max_scale +
    " on this server; at most " + limits.max_active_runs + " run(s) at once.";
  const select = $("#scenario");
  select.replaceChildren(...state.options.scenarios.map(s =>
    el("option", {value: s.name, text: s.name, title: s.description})));
  // scenarios uploaded earlier, to this server or to one before it on the same runs folder
  for (const u of state.options.uploads || []) select.append(el("option", {value: u.key, text: u.label}));
  if (state.options.scenarios.some(s => s.name === state.options.default_scenario)) {
    select.value = state.options.default_scenario;
  }
  select.addEventListener("change", () => chooseScenario(select.value).catch(err =>
    showError($("#form-error"), err.message)));
  $("#upload-file").addEventListener("change", readChosenFile);
  $("#upload-check").addEventListener("click", checkUpload);
  $("#config").addEventListener("submit", startRun);
  $("#reset-controls").addEventListener("click", () => applyScenario(state.scenario));
  $("#compare-button").addEventListener("click", compare);
  $("#cancel").addEventListener("click", async () => {
    if (state.current) await api("DELETE", "/api/runs/" + state.current).catch(() => null);
  });
  if (select.options.length) await chooseScenario(select.value);
  await loadRuns().catch(err => showError($("#form-error"), err.message));
  document.body.dataset.ready = "1";
}

// The server's runs, this session's and those it found in its runs folder (after a restart of
// the server or a reload of the page); those still going are followed.
async function loadRuns() {
  const {runs} = await api("GET", "/api/runs");
  for (const status of runs) {
    state.runs.set(status.id, status);
    if ((status.state === "starting" || status.state === "running") && !state.polling.has(status.id)) {
      poll(status.id);
    }
  }
  renderRuns();
  renderCompareChoices();
}

document.addEventListener("DOMContentLoaded", init);
