// Patient monitoring: one patient's series per marker with RCV bands, the personal limit and alerts,
// and the printable one-page report (the same page `exoniche biomarkers monitor --out` writes).
"use strict";
let FILE = null;
function form() {
  const f = new FormData(); f.append("file", FILE, FILE.name); f.append("patient", $("#patient").value);
  if ($("#acv").value.trim()) f.append("analytical_cv", $("#acv").value.trim());
  f.append("time_unit", $("#unit").value || "days");
  return f;
}
function markerPlot(div, m, unit) {
  const tl = m.timeline, t = tl.map(r => r.time), v = tl.map(r => r.value);
  const lo = [], hi = [], tb = [];
  for (let i = 1; i < tl.length; i++) { tb.push(t[i]); lo.push(v[i - 1] * (1 + m.rcv.down)); hi.push(v[i - 1] * (1 + m.rcv.up)); }
  const alerts = tl.filter(r => r.alerts);
  plot(div, [
    {x: tb, y: hi, mode: "lines", line: {width: 0}, showlegend: false, hoverinfo: "skip"},
    {x: tb, y: lo, mode: "lines", line: {width: 0}, fill: "tonexty", fillcolor: "rgba(31,95,168,0.13)",
      name: `RCV band (−${Math.round(-100 * m.rcv.down)} % / +${Math.round(100 * m.rcv.up)} % of the previous sample)`},
    {x: t, y: tl.map(r => r.personal_upper), mode: "lines", line: {dash: "dash", color: "#b54708", shape: "hv"},
      name: "personal upper limit (from earlier samples)"},
    {x: t, y: v, mode: "lines+markers", line: {color: "#1f2933"}, marker: {size: 7}, name: m.marker},
    {x: alerts.map(r => r.time), y: alerts.map(r => r.value), mode: "markers", name: "alert",
      marker: {size: 14, color: "rgba(0,0,0,0)", line: {color: "#b42318", width: 2.5}}, text: alerts.map(r => r.alerts)},
  ], {title: {text: m.marker, font: {size: 13}}, yaxis: {type: "log", title: {text: "level"}},
      xaxis: {title: {text: unit}}, height: 330, margin: {l: 60, r: 20, t: 36, b: 40}});
}
async function analyse() {
  const out = $("#out"); status(out, "info", "analysing…");
  try {
    const doc = await api("/api/biomarkers/monitor", {method: "POST", body: form()});
    const unit = $("#unit").value || "days";
    const plots = doc.markers.map(() => el("div", {class: "plot", style: "min-height:330px"}));
    out.replaceChildren(
      el("div", {class: "actions noprint"}, el("button", {id: "open-report", onclick: report}, "Printable one-page report"),
        el("button", {class: "secondary", onclick: () => window.print()}, "Print this page")),
      el("h2", {}, `Patient ${doc.patient}`),
      table([["marker", m => m.marker], ["samples", m => m.n_samples, "num"],
        ["latest", m => `${sig(m.latest.value, 4)} (${unit.slice(0, -1) || unit} ${sig(m.latest.time)})`, "num"],
        ["change", m => m.latest.change_pct === undefined ? "–" : `${m.latest.change_pct >= 0 ? "+" : ""}${fixed(m.latest.change_pct, 0)} %`, "num"],
        ["RCV down / up", m => `${fixed(100 * m.rcv.down, 0)} % / +${fixed(100 * m.rcv.up, 0)} %`, "num"],
        ["doubling time (95% CI)", m => !m.trend || m.trend.doubling_time_ci[0] === null ? "no significant trend" :
          `${sig(m.trend.doubling_time)} (${sig(m.trend.doubling_time_ci[0])} to ${sig(m.trend.doubling_time_ci[1])})`],
        ["personal limit", m => m.personal_threshold ? sig(m.personal_threshold.upper, 4) : "–", "num"],
        ["alerts", m => String(doc.alerts.filter(a => a.marker === m.marker).length), "num"]], doc.markers, {id: "monitor-table"}),
      el("h3", {}, "Alerts"), doc.alerts.length ? el("div", {id: "alerts"}, doc.alerts.map(a =>
        el("div", {class: `alert ${a.severity === "warning" ? "" : "info"}`}, el("b", {}, a.rule), ` at ${unit.replace(/s$/, "")} ${sig(a.time)}: ${a.message}`)))
        : el("p", {id: "alerts"}, "No alert."),
      el("div", {class: "grid g2"}, plots),
      el("p", {class: "muted small"}, doc.markers[0] ? `RCV: ${doc.markers[0].rcv.source}.` : ""));
    doc.markers.forEach((m, i) => markerPlot(plots[i], m, unit));
  } catch (e) { status(out, "bad", e.message); }
}
async function report() {
  const r = await fetch("/api/biomarkers/monitor/report", {method: "POST", body: form()});
  if (!r.ok) { status($("#out"), "bad", (await r.json()).error); return; }
  const url = URL.createObjectURL(new Blob([await r.text()], {type: "text/html"}));
  window.open(url, "_blank");
}
async function loaded(file) {
  FILE = file;
  const f = new FormData(); f.append("file", file, file.name);
  try {
    const cols = await api("/api/biomarkers/columns", {method: "POST", body: f});
    if (!cols.patients) throw new Error(`${file.name}: needs the long layout (columns patient, time, marker, value); ` +
      `has ${cols.columns.join(", ")}`);
    options($("#patient"), cols.patients);
    status($("#file-info"), "ok", `${file.name}: ${cols.patients.length} patients, markers ${(cols.markers || []).join(", ")}`);
    $("#analyse").disabled = false; analyse();
  } catch (e) { status($("#file-info"), "bad", e.message); }
}
function init() {
  $("#main").append(el("h1", {}, "Patient monitoring"),
    el("p", {class: "lead"}, "One patient's marker series: reference change values (RCV) between consecutive samples, a " +
      "personal upper limit learnt from the patient's earlier samples and the other patients, trends, change-points " +
      "and alerts (", el("code", {}, "exoniche biomarkers monitor"), ")."),
    el("div", {class: "card noprint"}, el("div", {class: "row"},
      el("div", {}, el("label", {for: "series-file"}, "series (long table: patient, time, marker, value)"),
        el("input", {type: "file", id: "series-file", accept: ".csv,.tsv,.txt,.parquet,.xlsx",
          onchange: (e) => e.target.files[0] && loaded(e.target.files[0])})),
      el("div", {}, el("label", {for: "patient"}, "patient"), el("select", {id: "patient", onchange: analyse})),
      el("div", {}, el("label", {for: "acv"}, "analytical CV (e.g. 5% or 0.05; optional)"), el("input", {type: "text", id: "acv"})),
      el("div", {}, el("label", {for: "unit"}, "time unit"), el("input", {type: "text", id: "unit", value: "days"})),
      el("div", {style: "flex:0 0 auto;align-self:flex-end"}, el("button", {id: "analyse", disabled: true, onclick: analyse}, "Analyse"))),
      el("div", {id: "file-info"})),
    el("div", {class: "card", id: "out"}, el("p", {class: "muted"}, "Choose a series file to start.")));
}
document.addEventListener("DOMContentLoaded", init);
