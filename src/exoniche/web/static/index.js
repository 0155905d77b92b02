"use strict";
const TILES = [
  ["/builder", "Scenario builder", "Forms for the scenario schema (presets, host, exosome injections, interventions, arms), live validation, TOML download/upload, run with live progress."],
  ["/runs", "Runs", "Every run folder and cohort catalogue in the runs folder: open a run's summary and HTML report."],
  ["/compare", "Compare runs", "Two runs side by side: arms, metastasis incidence with 95 % CIs, time courses overlaid."],
  ["/cohorts", "Cohort explorer", "Virtual-patient cohorts: marker distributions by outcome and the virtual ROC."],
  ["/biomarkers", "Biomarker analysis", "Upload a CSV/TSV/Parquet/xlsx table: ROC (DeLong), cut-points (STARD), panels, Kaplan–Meier and Cox (REMARK)."],
  ["/monitor", "Patient monitoring", "One patient's series: RCV bands, personal limit, alerts, printable one-page report."],
];
async function init() {
  const runs = await api("/api/runs").catch(() => []);
  $("#main").append(el("h1", {}, "exoniche"),
    el("p", {class: "lead"}, "Simulate the exosome-driven pre-metastatic niche and analyse liquid-biopsy " +
      "biomarkers. Everything runs on this machine: no data leaves it and nothing is loaded from the internet."),
    el("div", {class: "grid g3 tiles"}, TILES.map(([href, name, text]) =>
      el("a", {class: "card", href}, el("h2", {}, name), el("p", {class: "muted"}, text)))),
    el("div", {class: "card"}, el("h2", {}, "Latest runs"), runs.length ? table([
      ["run", r => el("a", {href: r.kind === "cohort" ? `/cohorts?id=${encodeURIComponent(r.id)}` :
        `/runs?id=${encodeURIComponent(r.id)}`}, r.id)], ["kind", r => r.kind], ["name", r => r.name || ""],
      ["status", r => el("span", {class: `pill ${r.status}`}, r.status)],
      ["modified", r => new Date(r.modified * 1000).toLocaleString()]], runs.slice(0, 6)) :
      el("p", {class: "muted"}, "No runs yet: build one in the scenario builder.")));
}
document.addEventListener("DOMContentLoaded", init);
