// Run browser: the runs folder (scenario runs and cohort catalogues); open one, or pick two to compare.
"use strict";
let picked = [];
function openRun(id) {
  const view = $("#view");
  status(view, "info", `loading ${id}…`);
  history.replaceState(null, "", `/runs?id=${encodeURIComponent(id)}`);
  api(`/api/runs/${encodeURIComponent(id)}`).then(s => {
    if (s.status !== "done") { status(view, s.status === "failed" ? "bad" : "info",
      `${id}: ${s.status}${s.error ? " — " + s.error : ""}`); return; }
    view.replaceChildren(el("h2", {}, `Run ${id}`), el("div", {id: "run-view"}));
    return renderRun($("#run-view"), id, s.summary);
  }).catch(e => status(view, "bad", e.message));
}
async function init() {
  const schema = await api("/api/schema"); window.ORGAN_NAMES = schema.organs;
  const runs = await api("/api/runs");
  const cmp = el("button", {id: "compare-picked", disabled: true, onclick: () =>
    location.href = `/compare?a=${encodeURIComponent(picked[0])}&b=${encodeURIComponent(picked[1])}`}, "Compare the two picked");
  const pick = (r) => el("input", {type: "checkbox", disabled: r.kind !== "run" || r.status !== "done",
    onclick: (e) => { e.stopPropagation(); picked = e.target.checked ? [...picked, r.id].slice(-2) :
      picked.filter(x => x !== r.id); cmp.disabled = picked.length !== 2;
      document.querySelectorAll(".pick").forEach(c => { c.checked = picked.includes(c.dataset.id); }); },
    class: "pick", "data-id": r.id});
  $("#main").append(el("h1", {}, "Runs"),
    el("p", {class: "lead"}, "Run folders of ", el("code", {}, "exoniche run/compare"), " and of this app, and " +
      "cohort runs (DuckDB catalogue). Click a run to open it; tick two to compare them."),
    el("div", {class: "card"}, runs.length ? table([
      ["", pick], ["run", r => r.id], ["kind", r => r.kind], ["name", r => r.name || ""],
      ["arms / patients", r => r.kind === "cohort" ? `${r.patients} patients` : (r.arms || []).join(", ")],
      ["replicates", r => r.replicates ?? "", "num"], ["days", r => r.days ?? "", "num"],
      ["status", r => el("span", {class: `pill ${r.status}`}, r.status)],
      ["modified", r => new Date(r.modified * 1000).toLocaleString()]], runs, {id: "runs-table",
        onclick: (r) => r.kind === "cohort" ? (location.href = `/cohorts?id=${encodeURIComponent(r.id)}`) : openRun(r.id)})
      : el("p", {class: "muted"}, "The runs folder is empty."), el("div", {class: "actions"}, cmp)),
    el("div", {class: "card", id: "view"}, el("p", {class: "muted"}, "Pick a run above.")));
  const id = qs("id"); if (id) openRun(id);
}
document.addEventListener("DOMContentLoaded", init);
