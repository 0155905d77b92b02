// Two runs side by side: arms, incidence with Wilson 95 % CIs, time courses overlaid (second run dashed).
"use strict";
async function draw() {
  const a = $("#run-a").value, b = $("#run-b").value, view = $("#view");
  if (!a || !b) return;
  history.replaceState(null, "", `/compare?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  status(view, "info", "loading…");
  try {
    const [sa, sb] = await Promise.all([a, b].map(id => api(`/api/runs/${encodeURIComponent(id)}`)));
    const arms = [[a, sa.summary], [b, sb.summary]].flatMap(([id, d]) => d.arms.map(x => ({...x, run: id})));
    const organs = sa.summary.organs.filter(o => sb.summary.organs.includes(o));
    const sel = el("select", {id: "organ-select", style: "width:auto"}); options(sel, organs);
    const bars = el("div", {class: "plot", id: "incidence-plot"}), traj = el("div", {class: "plot", id: "trajectory-plot"});
    view.replaceChildren(
      el("h2", {}, `${sa.summary.name}  vs  ${sb.summary.name}`),
      el("p", {class: "muted small"}, `${a}: ${sa.summary.replicates} replicates, seed ${sa.summary.seed} · ` +
        `${b}: ${sb.summary.replicates} replicates, seed ${sb.summary.seed}`),
      armTable({arms: arms.map(x => ({...x, name: `${x.run}: ${x.name}`}))}),
      el("div", {class: "grid g2"}, bars, el("div", {}, el("div", {class: "actions"},
        el("span", {class: "muted small"}, "organ:"), sel), traj)));
    const organ = () => sel.value;
    const drawBars = () => {
      const traces = [a, b].map((id, r) => {
        const xs = arms.filter(x => x.run === id);
        const rows = xs.map(x => x.organs.find(o => o.organ === organ()));
        return {type: "bar", name: id, x: xs.map(x => x.name), y: rows.map(o => o.p_detectable),
          marker: {color: COLOURS[r + 1]}, error_y: {type: "data", symmetric: false,
            array: rows.map(o => o.p_detectable_ci[1] - o.p_detectable),
            arrayminus: rows.map(o => o.p_detectable - o.p_detectable_ci[0])}};
      });
      plot(bars, traces, {title: {text: `P(detectable metastasis), ${(window.ORGAN_NAMES || {})[organ()] || organ()}` +
        " [Wilson 95 % CI]", font: {size: 13}}, yaxis: {range: [0, 1]}, barmode: "group", height: 420});
    };
    const redraw = () => { drawBars(); trajectoryPlot(traj, [[a, a], [b, b]], organ()); };
    sel.addEventListener("change", redraw); redraw();
  } catch (e) { status(view, "bad", e.message); }
}
async function init() {
  const schema = await api("/api/schema"); window.ORGAN_NAMES = schema.organs;
  const runs = (await api("/api/runs")).filter(r => r.kind === "run" && r.status === "done");
  const sa = el("select", {id: "run-a"}), sb = el("select", {id: "run-b"});
  const ids = runs.map(r => r.id), labels = runs.map(r => `${r.id} — ${r.name}`);
  options(sa, ids, labels, qs("a") || ids[0]); options(sb, ids, labels, qs("b") || ids[1] || ids[0]);
  $("#main").append(el("h1", {}, "Compare two runs"),
    el("p", {class: "lead"}, "Arms of two run folders side by side. Runs with the same seed share their virtual " +
      "animals (common random numbers), so their differences are less noisy."),
    el("div", {class: "card"}, el("div", {class: "row"}, el("div", {}, el("label", {}, "run A"), sa),
      el("div", {}, el("label", {}, "run B"), sb), el("div", {style: "flex:0 0 auto;align-self:flex-end"},
        el("button", {id: "compare", onclick: draw}, "Compare")))),
    el("div", {class: "card", id: "view"}, ids.length < 2 ? el("p", {class: "muted"},
      "Two finished runs are needed; start some in the scenario builder.") : ""));
  if (ids.length >= 2) draw();
}
document.addEventListener("DOMContentLoaded", init);
