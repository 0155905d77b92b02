// exoniche web: helpers shared by every page (navigation, API calls, tables, number formats).
"use strict";
const PAGES = [["/builder", "Scenario builder"], ["/runs", "Runs"], ["/compare", "Compare"],
  ["/cohorts", "Cohort explorer"], ["/biomarkers", "Biomarker analysis"], ["/monitor", "Patient monitoring"]];

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}
const $ = (sel) => document.querySelector(sel);

function header() {
  const nav = el("nav", {}, PAGES.map(([href, name]) =>
    el("a", {href, class: location.pathname === href ? "active" : ""}, name)));
  const ver = el("span", {class: "ver", id: "version"}, "");
  document.body.prepend(el("header", {}, el("a", {class: "brand", href: "/"}, "exoniche"), nav, ver));
  fetch("/api/health").then(r => r.json()).then(h => { ver.textContent = `exoniche ${h.version} · local`; });
}

class ApiError extends Error {}
async function api(path, opts = {}) {
  const r = await fetch(path, opts);
  const text = await r.text();
  let body; try { body = JSON.parse(text); } catch { body = text; }
  if (!r.ok) {
    const msg = body && body.error ? body.error : `HTTP ${r.status}`;
    const e = new ApiError(msg); e.status = r.status; e.body = body; throw e;
  }
  return body;
}

// Numbers as the CLI prints them: fixed(x, 3) is the CLI's AUC/CI format (f"{x:.3f}", "NA" when missing).
function fixed(x, d = 3) { return (x === null || x === undefined || !isFinite(x)) ? "NA" : Number(x).toFixed(d); }
function sig(x, d = 3) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  const a = Math.abs(x); if (a !== 0 && (a < 1e-3 || a >= 1e5)) return Number(x).toExponential(d - 1);
  return String(Number(Number(x).toPrecision(d)));
}
function pval(p) { return (p === null || p === undefined) ? "–" : (p < 1e-4 ? Number(p).toExponential(1) : sig(p, 2)); }
function pct(x, d = 0) { return (x === null || x === undefined) ? "–" : `${(100 * x).toFixed(d)} %`; }

function table(columns, rows, opts = {}) {
  // columns: [label, fn(row) -> text|Node, "num"?]
  const t = el("table", {class: "data", id: opts.id || null});
  t.append(el("thead", {}, el("tr", {}, columns.map(c => el("th", {}, c[0])))));
  const tb = el("tbody");
  for (const r of rows) {
    const tr = el("tr", {}, columns.map(c => el("td", {class: c[2] === "num" ? "num" : ""}, c[1](r))));
    if (opts.onclick) { tr.style.cursor = "pointer"; tr.addEventListener("click", () => opts.onclick(r, tr)); }
    tb.append(tr);
  }
  t.append(tb);
  return t;
}

function status(target, kind, text) {
  target.replaceChildren(el("div", {class: `status ${kind}`}, text));
}

function options(select, values, labels = null, selected = null) {
  select.replaceChildren(...values.map((v, i) => el("option", {value: v, selected: v === selected},
    labels ? labels[i] : v)));
}

const PLOT_LAYOUT = {margin: {l: 60, r: 20, t: 36, b: 48}, font: {family: "system-ui, sans-serif", size: 12},
  paper_bgcolor: "#fff", plot_bgcolor: "#fff", legend: {orientation: "h", y: -0.2}};
const PLOT_CONFIG = {displaylogo: false, responsive: true, toImageButtonOptions: {format: "svg"}};
// plotly.js (from the installed plotly package, served by this app) loads on first use, so pages show at once.
let plotlyReady = null;
function ensurePlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyReady) plotlyReady = new Promise((resolve, reject) => {
    const s = el("script", {src: "/static/vendor/plotly.min.js"});
    s.onload = () => resolve(window.Plotly); s.onerror = () => reject(new Error("plotly.js did not load"));
    document.head.append(s);
  });
  return plotlyReady;
}
async function plot(div, traces, layout = {}) {
  await ensurePlotly();
  return Plotly.react(div, traces, {...PLOT_LAYOUT, ...layout}, PLOT_CONFIG);
}
const COLOURS = ["#1f2933", "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];

function download(name, text, type = "text/plain") {
  const a = el("a", {href: URL.createObjectURL(new Blob([text], {type})), download: name});
  document.body.append(a); a.click(); a.remove();
}
function qs(name) { return new URLSearchParams(location.search).get(name); }

document.addEventListener("DOMContentLoaded", header);
