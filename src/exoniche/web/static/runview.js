// A finished run as the builder and the run browser show it: key numbers, arm and organ tables, time courses.
"use strict";
const TRAJ = [["N", "primary tumour (g)", "log"], ["Col_{o}", "expected metastases, {on}", "log"],
  ["S100_{o}", "S100A8/A9 niche index, {on}", "linear"], ["T_spleen", "CD8+ T cells, spleen (fold)", "linear"]];

function armTable(doc) {
  return table([
    ["arm", a => a.name], ["interventions", a => (a.interventions || []).join("; ") || "—"],
    ["primary at end (g)", a => sig(a.tumour_final_g), "num"],
    ["CD8+ spleen (fold)", a => fixed(a.cd8_spleen_fold_final, 2), "num"],
    ["P(any detectable) [95% CI]", a => `${fixed(a.p_any_detectable, 2)} [${fixed(a.p_any_detectable_ci[0], 2)}, ` +
      `${fixed(a.p_any_detectable_ci[1], 2)}]`, "num"],
    ["median day first detectable", a => a.median_day_first_detectable_any === null ? "not reached" :
      fixed(a.median_day_first_detectable_any, 0), "num"],
  ], doc.arms, {id: "arm-table"});
}

function organTable(doc) {
  const rows = doc.arms.flatMap(a => a.organs.map(o => ({arm: a.name, ...o})));
  const last = o => Object.values(o.niche).slice(-1)[0];
  return table([
    ["arm", r => r.arm], ["organ", r => r.organ_name], ["uptake share", r => pct(r.tumour_uptake_share, 1), "num"],
    ["S100", r => fixed(last(r).S100, 2), "num"], ["Perm", r => fixed(last(r).Perm, 2), "num"],
    ["FN", r => fixed(last(r).FN, 2), "num"], ["BMDC", r => fixed(last(r).BMDC, 2), "num"],
    ["exp. metastases", r => sig(r.expected_metastases), "num"], ["P(seeded)", r => fixed(r.p_seeded, 2), "num"],
    ["P(detectable) [95% CI]", r => `${fixed(r.p_detectable, 2)} [${fixed(r.p_detectable_ci[0], 2)}, ` +
      `${fixed(r.p_detectable_ci[1], 2)}]`, "num"],
  ], rows);
}

async function trajectoryPlot(div, runs, organ) {
  // runs: [[runId, prefix]]; one panel per variable, one line per arm (of every run).
  const vars = TRAJ.map(([v]) => v.replace("{o}", organ));
  const q = vars.map(v => `var=${encodeURIComponent(v)}`).join("&");
  const data = await Promise.all(runs.map(([id]) => api(`/api/runs/${encodeURIComponent(id)}/trajectories?${q}`)));
  const traces = [], layout = {grid: {rows: 2, columns: 2, pattern: "independent"}, height: 620,
    annotations: [], showlegend: true};
  const organName = (window.ORGAN_NAMES || {})[organ] || organ;
  let k = 0;
  TRAJ.forEach(([, title, scale], i) => {
    const v = vars[i], ax = i === 0 ? "" : String(i + 1);
    data.forEach((d, r) => {
      Object.entries(d[v]).forEach(([arm, s], j) => {
        const name = runs[r][1] ? `${runs[r][1]}: ${arm}` : arm;
        traces.push({x: s.time, y: s.value, name, legendgroup: name, showlegend: i === 0, mode: "lines",
          line: {color: COLOURS[(r * 3 + j) % COLOURS.length], dash: r ? "dash" : "solid", width: 2},
          xaxis: `x${ax}`, yaxis: `y${ax}`});
        k++;
      });
    });
    layout[`yaxis${ax}`] = {type: scale, title: {text: title.replace("{on}", organName), font: {size: 11}}};
    layout[`xaxis${ax}`] = {title: {text: "day", font: {size: 11}}};
  });
  return plot(div, traces, layout);
}

function renderRun(target, id, doc) {
  const organs = doc.organs;
  const sel = el("select", {id: "organ-select", style: "width:auto"});
  options(sel, organs, null, organs[0]);
  const div = el("div", {class: "plot", id: "trajectory-plot"});
  const best = doc.arms.reduce((b, a) => Math.max(b, a.p_any_detectable), 0);
  target.replaceChildren(
    el("div", {class: "kpis"},
      el("div", {}, el("span", {}, "scenario"), el("b", {}, doc.name)),
      el("div", {}, el("span", {}, "arms × replicates"), el("b", {}, `${doc.arms.length} × ${doc.replicates}`)),
      el("div", {}, el("span", {}, "days"), el("b", {}, sig(doc.arms[0].days))),
      el("div", {}, el("span", {}, "seed"), el("b", {}, doc.seed)),
      el("div", {}, el("span", {}, "highest P(any detectable)"), el("b", {}, fixed(best, 2)))),
    el("div", {class: "actions"},
      el("a", {class: "button", href: `/api/runs/${encodeURIComponent(id)}/report`, target: "_blank", id: "open-report"},
        "Open HTML report"),
      el("a", {class: "button secondary", href: `/compare?a=${encodeURIComponent(id)}`}, "Compare with another run"),
      el("span", {class: "muted small"}, "organ shown:"), sel),
    el("h3", {}, "Time courses"), div,
    el("h3", {}, "Arms"), armTable(doc),
    el("h3", {}, "Per organ (niche indices at the last read-out day)"), organTable(doc));
  const draw = () => trajectoryPlot(div, [[id, ""]], sel.value);
  sel.addEventListener("change", draw);
  return draw();
}
