// Cohort explorer: a cohort run's outcomes table (observe/outcomes.parquet): marker distributions by outcome
// and the virtual ROC (the same analysis as `exoniche biomarkers roc RUN/observe/outcomes.parquet`).
"use strict";
let INFO = null;
async function show(id) {
  const view = $("#view"); status(view, "info", `loading ${id}…`);
  history.replaceState(null, "", `/cohorts?id=${encodeURIComponent(id)}`);
  try { INFO = await api(`/api/cohorts/${encodeURIComponent(id)}`); } catch (e) { status(view, "bad", e.message); return; }
  const m = INFO.manifest;
  const markers = INFO.numeric.filter(c => !INFO.binary.includes(c) && c !== "patient");
  const mk = el("select", {id: "marker"}), oc = el("select", {id: "outcome"}), pos = el("select", {id: "positive"});
  options(mk, markers, null, markers.find(c => c.includes("baseline")) || markers[0]);
  options(oc, INFO.binary, null, INFO.binary.find(c => c.includes("seeded")) || INFO.binary[0]);
  const levels = () => options(pos, INFO.levels[oc.value] || [], null, (INFO.levels[oc.value] || []).slice(-1)[0]);
  levels();
  const dist = el("div", {class: "plot", id: "dist-plot"}), rocDiv = el("div", {class: "plot", id: "roc-plot"});
  const rocTab = el("div", {id: "cohort-roc"});
  view.replaceChildren(
    el("div", {class: "kpis"}, el("div", {}, el("span", {}, "cohort"), el("b", {}, m.name || id)),
      el("div", {}, el("span", {}, "patients"), el("b", {}, INFO.rows)),
      el("div", {}, el("span", {}, "seed"), el("b", {}, m.seed ?? "–")),
      el("div", {}, el("span", {}, "engine"), el("b", {}, m.engine ?? "–"))),
    el("div", {class: "row", style: "margin-top:12px"}, el("div", {}, el("label", {}, "marker"), mk),
      el("div", {}, el("label", {}, "outcome"), oc), el("div", {}, el("label", {}, "case level"), pos)),
    el("div", {class: "grid g2"}, dist, el("div", {}, rocDiv, rocTab)));
  const draw = async () => {
    try {
      const v = await api(`/api/cohorts/${encodeURIComponent(id)}/values?column=${encodeURIComponent(mk.value)}&by=${encodeURIComponent(oc.value)}`);
      plot(dist, Object.entries(v.groups).map(([g, xs], i) => ({type: "violin", y: xs, name: `${oc.value}=${g} (n ${xs.length})`,
        box: {visible: true}, meanline: {visible: true}, points: xs.length <= 400 ? "all" : false, jitter: 0.4,
        line: {color: COLOURS[i + 1]}})), {title: {text: `${mk.value} by ${oc.value}`, font: {size: 13}},
        yaxis: {type: Math.min(...Object.values(v.groups).flat()) > 0 ? "log" : "linear", title: {text: mk.value}}, height: 440});
      const f = new FormData(); f.append("outcome", oc.value); f.append("positive", pos.value); f.append("marker", mk.value);
      const doc = await api(`/api/cohorts/${encodeURIComponent(id)}/roc`, {method: "POST", body: f});
      const r = doc.markers[0], c = doc.curves[mk.value];
      plot(rocDiv, [{x: c.fpr, y: c.tpr, mode: "lines", line: {shape: "hv", width: 2, color: COLOURS[2]}, name: mk.value},
        {x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#aaa"}, showlegend: false}],
        {title: {text: `virtual ROC: AUC ${fixed(r.auc)} (95% CI ${fixed(r.ci_low)}–${fixed(r.ci_high)})`, font: {size: 13}},
         xaxis: {title: {text: "1 − specificity"}, range: [0, 1]}, yaxis: {title: {text: "sensitivity"}, range: [0, 1.02]},
         height: 360, showlegend: false});
      rocTab.replaceChildren(table([["marker", x => x.marker], ["direction", x => x.direction], ["AUC", x => fixed(x.auc), "num"],
        ["95% CI (DeLong)", x => `${fixed(x.ci_low)}–${fixed(x.ci_high)}`, "num"], ["cases", x => x.n_cases, "num"],
        ["controls", x => x.n_controls, "num"]], doc.markers));
    } catch (e) { status(rocTab, "bad", e.message); }
  };
  oc.addEventListener("change", () => { levels(); draw(); });
  [mk, pos].forEach(s => s.addEventListener("change", draw));
  return draw();
}
async function init() {
  const cohorts = (await api("/api/runs")).filter(r => r.kind === "cohort");
  const sel = el("select", {id: "cohort"}); options(sel, cohorts.map(c => c.id), cohorts.map(c => `${c.id} — ${c.patients} patients`),
    qs("id") || (cohorts[0] || {}).id);
  sel.addEventListener("change", () => show(sel.value));
  $("#main").append(el("h1", {}, "Cohort explorer"),
    el("p", {class: "lead"}, "Virtual patients from ", el("code", {}, "exoniche cohort"), ": how a virtual liquid-biopsy " +
      "marker is distributed in patients with and without the outcome, and how well it separates them."),
    el("div", {class: "card"}, el("label", {for: "cohort"}, "cohort run"), sel),
    el("div", {class: "card", id: "view"}, cohorts.length ? "" : el("p", {class: "muted"},
      "No cohort run in the runs folder: run e.g. ", el("code", {}, "exoniche cohort examples/cohorts/liquid_biopsy.toml " +
        "--patients 200 --out runs/cohort"), ".")));
  if (cohorts.length) show(sel.value);
}
document.addEventListener("DOMContentLoaded", init);
