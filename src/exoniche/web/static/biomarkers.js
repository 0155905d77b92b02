// Biomarker analysis: upload a table, choose columns, and get the CLI's numbers (same API functions) as
// tables and plots: ROC with DeLong CIs and tests, STARD cut-points, panels, Kaplan-Meier / Cox (REMARK).
"use strict";
let FILE = null, COLS = null;

function form(extra) {
  const f = new FormData(); f.append("file", FILE, FILE.name);
  for (const [k, v] of Object.entries(extra)) {
    if (Array.isArray(v)) v.forEach(x => f.append(k, x)); else if (v !== "" && v !== null && v !== undefined) f.append(k, v);
  }
  return f;
}
const picked = (id) => [...document.getElementById(id).selectedOptions].map(o => o.value);
function pickers(prefix, numericDefault = 2) {
  const out = el("select", {id: `${prefix}-outcome`}), pos = el("select", {id: `${prefix}-positive`});
  const mk = el("select", {id: `${prefix}-markers`, multiple: true});
  options(out, COLS.binary.length ? COLS.binary : COLS.columns);
  const levels = () => options(pos, COLS.levels[out.value] || [], null, (COLS.levels[out.value] || []).slice(-1)[0]);
  out.addEventListener("change", levels); levels();
  options(mk, COLS.numeric.filter(c => !COLS.binary.includes(c)));
  [...mk.options].slice(0, numericDefault).forEach(o => { o.selected = true; });
  return el("div", {class: "row"}, el("div", {}, el("label", {}, "outcome (reference standard)"), out),
    el("div", {}, el("label", {}, "case level (positive)"), pos),
    el("div", {}, el("label", {}, "markers (ctrl/shift for several)"), mk), missingPicker(prefix));
}
function missingPicker(prefix) {
  const s = el("select", {id: `${prefix}-missing`});
  options(s, ["error", "drop"], ["report them (error)", "drop incomplete rows"]);
  return el("div", {style: "max-width:190px"}, el("label", {}, "missing values"), s);
}
const common = (p) => ({outcome: $(`#${p}-outcome`).value, positive: $(`#${p}-positive`).value,
  marker: picked(`${p}-markers`), missing: $(`#${p}-missing`).value});

async function rocRun() {
  const out = $("#roc-out"); status(out, "info", "computing…");
  try {
    const args = common("roc");
    const [doc, curves] = await Promise.all([api("/api/biomarkers/roc", {method: "POST", body: form(args)}),
      api("/api/biomarkers/roc/curves", {method: "POST", body: form(args)})]);
    const div = el("div", {class: "plot", id: "roc-plot"});
    out.replaceChildren(el("div", {class: "grid g2"}, el("div", {},
      el("h3", {}, `ROC: ${doc.outcome} (cases ${doc.markers[0].n_cases}, controls ${doc.markers[0].n_controls})`),
      table([["marker", r => r.marker], ["direction", r => r.direction], ["AUC", r => fixed(r.auc), "num"],
        ["95% CI (DeLong)", r => `${fixed(r.ci_low)}–${fixed(r.ci_high)}`, "num"],
        ["Youden threshold", r => sig(r.youden_threshold, 4), "num"], ["cases", r => r.n_cases, "num"],
        ["controls", r => r.n_controls, "num"]], doc.markers, {id: "auc-table"}),
      doc.comparisons.length ? el("div", {}, el("h3", {}, "DeLong tests"), table([["a", c => c.a], ["b", c => c.b],
        ["paired", c => String(c.paired)], ["ΔAUC", c => fixed(c.diff), "num"],
        ["95% CI", c => `${fixed(c.diff_ci_low)}–${fixed(c.diff_ci_high)}`, "num"], ["Z", c => fixed(c.z), "num"],
        ["p", c => pval(c.p), "num"]], doc.comparisons)) : "",
      el("p", {class: "muted small"}, "Same numbers as ", el("code", {}, `exoniche biomarkers roc ${FILE.name} ` +
        `--outcome ${doc.outcome} --positive ${args.positive} ${args.marker.map(m => "--marker " + m).join(" ")}`))),
      div));
    plot(div, [...Object.entries(curves).map(([m, c], i) => ({x: c.fpr, y: c.tpr, name: `${m} (AUC ` +
      `${fixed(doc.markers[i].auc)})`, mode: "lines", line: {shape: "hv", width: 2, color: COLOURS[i + 1]}})),
      {x: [0, 1], y: [0, 1], mode: "lines", line: {dash: "dot", color: "#aaa"}, showlegend: false}],
      {xaxis: {title: {text: "1 − specificity"}, range: [0, 1]}, yaxis: {title: {text: "sensitivity"}, range: [0, 1.02]},
       height: 440, title: {text: "ROC curves", font: {size: 13}}});
  } catch (e) { status(out, "bad", e.message); }
}

async function cutRun() {
  const out = $("#cut-out"); status(out, "info", "computing…");
  try {
    const methods = [...document.querySelectorAll(".cut-method:checked")].map(e => e.value);
    const doc = await api("/api/biomarkers/cutpoint", {method: "POST", body: form({...common("cut"), method: methods})});
    const ci = (c, k, d = 2) => `${fixed(c[k], d)} (${fixed(c[k + "_ci_low"], d)}–${fixed(c[k + "_ci_high"], d)})`;
    const rows = [["marker", c => c.marker], ["method", c => c.method], ["positive if", c => c.positive_if],
      ["TP / FP / FN / TN", c => `${c.tp} / ${c.fp} / ${c.fn} / ${c.tn}`], ["sensitivity (95% CI)", c => ci(c, "sensitivity")],
      ["specificity (95% CI)", c => ci(c, "specificity")], ["PPV (95% CI)", c => ci(c, "ppv")],
      ["NPV (95% CI)", c => ci(c, "npv")], ["accuracy (95% CI)", c => ci(c, "accuracy")],
      ["LR+ (95% CI)", c => ci(c, "lr_positive")], ["LR− (95% CI)", c => ci(c, "lr_negative")],
      ["how chosen", c => c.how_chosen]];
    const t = el("table", {class: "data", id: "stard-table"}, el("tbody", {}, rows.map(([name, f]) =>
      el("tr", {}, el("th", {}, name), doc.cutpoints.map(c => el("td", {}, f(c)))))));
    out.replaceChildren(el("h3", {}, `Diagnostic accuracy (STARD): ${doc.outcome}`), t,
      el("p", {class: "muted small"}, "Exact (Clopper–Pearson) CIs for proportions; log-method CIs for likelihood ratios."));
  } catch (e) { status(out, "bad", e.message); }
}

async function panelRun() {
  const out = $("#panel-out"); status(out, "info", "cross-validating panels…");
  try {
    const doc = await api("/api/biomarkers/panel", {method: "POST", body: form({...common("panel"),
      max_size: $("#panel-size").value, repeats: $("#panel-repeats").value, folds: $("#panel-folds").value})});
    const div = el("div", {class: "plot"});
    out.replaceChildren(el("h3", {}, `${doc.n_panels} panels, ${doc.repeats}× ${doc.folds}-fold CV (cases ` +
      `${doc.n_cases}, controls ${doc.n_controls})`), el("div", {class: "grid g2"}, table([
      ["panel", r => r.panel], ["CV AUC", r => `${fixed(r.cv_auc)} ± ${fixed(r.cv_auc_sd)}`, "num"],
      ["OOF AUC (95% CI)", r => `${fixed(r.oof_auc)} (${fixed(r.oof_ci_low)}–${fixed(r.oof_ci_high)})`, "num"],
      ["vs best single", r => r.size === 1 ? "" : `${r.delta_auc >= 0 ? "+" : ""}${fixed(r.delta_auc)} (p ${pval(r.delta_p)})`, "num"]],
      doc.panels, {id: "panel-table"}), div));
    const top = doc.panels.slice(0, 12).reverse();
    plot(div, [{type: "scatter", mode: "markers", y: top.map(r => r.panel), x: top.map(r => r.oof_auc),
      error_x: {type: "data", symmetric: false, array: top.map(r => r.oof_ci_high - r.oof_auc),
        arrayminus: top.map(r => r.oof_auc - r.oof_ci_low)}, marker: {size: 9, color: COLOURS[2]}, name: "OOF AUC"}],
      {xaxis: {title: {text: "out-of-fold AUC (95% CI)"}}, margin: {l: 140, r: 20, t: 30, b: 48}, height: 420,
       showlegend: false});
  } catch (e) { status(out, "bad", e.message); }
}

async function survRun() {
  const out = $("#surv-out"); status(out, "info", "fitting…");
  try {
    const doc = await api("/api/biomarkers/survival", {method: "POST", body: form({time: $("#surv-time").value,
      event: $("#surv-event").value, group: $("#surv-group").value, covariate: picked("surv-cov"),
      missing: $("#surv-missing").value})});
    const div = el("div", {class: "plot", id: "km-plot"});
    const kms = $("#surv-group").value ? doc.km : {all: doc.km};
    const traces = Object.entries(kms).map(([g, km], i) => ({x: [0, ...km.table.map(r => r.time)],
      y: [1, ...km.table.map(r => r.survival)], mode: "lines", line: {shape: "hv", width: 2, color: COLOURS[i + 1]},
      name: `${$("#surv-group").value ? $("#surv-group").value + "=" : ""}${g} (n ${km.n}, median ${sig(km.median)})`}));
    const uni = Object.fromEntries((doc.cox_univariable || []).map(u => [u.covariate, u]));
    out.replaceChildren(el("div", {class: "grid g2"}, div, el("div", {},
      el("h3", {}, `REMARK summary (n = ${doc.n}, events = ${doc.events}, median follow-up ${sig(doc.followup_median)})`),
      doc.logrank ? el("p", {}, `log-rank: χ² ${fixed(doc.logrank.chisq)} on ${doc.logrank.df} df, p = ${pval(doc.logrank.p)}`) : "",
      doc.cox.length ? table([["covariate", c => c.covariate],
        ["HR uni (95% CI)", c => `${fixed(uni[c.covariate].hr, 2)} (${fixed(uni[c.covariate].hr_ci_low, 2)}–` +
          `${fixed(uni[c.covariate].hr_ci_high, 2)})`, "num"], ["p", c => pval(uni[c.covariate].p), "num"],
        ["HR multi (95% CI)", c => `${fixed(c.hr, 2)} (${fixed(c.hr_ci_low, 2)}–${fixed(c.hr_ci_high, 2)})`, "num"],
        ["p ", c => pval(c.p), "num"], ["PH p", c => pval((doc.ph_test[c.covariate] || {}).p), "num"]], doc.cox,
        {id: "cox-table"}) : el("p", {class: "muted"}, "No covariates: Kaplan–Meier only."),
      doc.c_index !== undefined && doc.cox.length ? el("p", {}, `C-index ${fixed(doc.c_index)}`) : "",
      el("p", {class: "muted small"}, `event coding: ${doc.event_coding}`))));
    plot(div, traces, {xaxis: {title: {text: "time"}}, yaxis: {title: {text: "survival"}, range: [0, 1.02]}, height: 420,
      title: {text: "Kaplan–Meier", font: {size: 13}}});
  } catch (e) { status(out, "bad", e.message); }
}

function tabs(panes) {
  const bar = el("div", {class: "tabs"}), body = el("div");
  panes.forEach(([name, make], i) => {
    const b = el("button", {id: `tab-${name.toLowerCase().replace(/[^a-z]/g, "")}`, onclick: () => {
      bar.querySelectorAll("button").forEach(x => x.classList.remove("active")); b.classList.add("active");
      body.replaceChildren(make()); }}, name);
    bar.append(b); if (i === 0) { b.classList.add("active"); body.append(make()); }
  });
  return el("div", {}, bar, body);
}

async function loaded(file) {
  FILE = file;
  const info = $("#file-info"); status(info, "info", `reading ${file.name}…`);
  try {
    const f = new FormData(); f.append("file", file, file.name);
    COLS = await api("/api/biomarkers/columns", {method: "POST", body: f});
  } catch (e) { status(info, "bad", e.message); $("#analysis").replaceChildren(); return; }
  status(info, "ok", `${file.name}: ${COLS.rows} rows; columns ${COLS.columns.join(", ")}`);
  const sel = (id, values, label, blank = false) => { const s = el("select", {id}); options(s, blank ? ["", ...values] :
    values, blank ? ["(none)", ...values] : null); return el("div", {}, el("label", {}, label), s); };
  $("#analysis").replaceChildren(tabs([
    ["ROC", () => el("div", {}, pickers("roc"), el("div", {class: "actions"}, el("button", {id: "roc-run",
      onclick: rocRun}, "Compute ROC")), el("div", {id: "roc-out"}))],
    ["Cut-points", () => el("div", {}, pickers("cut", 1), el("div", {class: "actions"},
      ["youden", "closest_topleft", "se>=0.9", "sp>=0.9"].map((m, i) => el("label", {style: "margin:0 10px 0 0"},
        el("input", {type: "checkbox", class: "cut-method", value: m, checked: i === 0}), ` ${m}`)),
      el("button", {id: "cut-run", onclick: cutRun}, "Compute cut-points")), el("div", {id: "cut-out"}))],
    ["Panels", () => el("div", {}, pickers("panel", 3), el("div", {class: "row"},
      el("div", {}, el("label", {}, "largest panel"), el("input", {type: "number", id: "panel-size", value: 2, min: 1})),
      el("div", {}, el("label", {}, "folds"), el("input", {type: "number", id: "panel-folds", value: 5, min: 2})),
      el("div", {}, el("label", {}, "repeats"), el("input", {type: "number", id: "panel-repeats", value: 5, min: 1}))),
      el("div", {class: "actions"}, el("button", {id: "panel-run", onclick: panelRun}, "Rank panels")),
      el("div", {id: "panel-out"}))],
    ["Survival", () => { const d = el("div", {}, el("div", {class: "row"}, sel("surv-time", COLS.numeric, "time"),
      sel("surv-event", COLS.columns, "event (0/1, 1/2, TRUE/FALSE)"), sel("surv-group", COLS.columns, "group (KM, log-rank)", true),
      el("div", {}, el("label", {}, "Cox covariates"), (() => { const s = el("select", {id: "surv-cov", multiple: true});
        options(s, COLS.numeric); return s; })()), missingPicker("surv")),
      el("div", {class: "actions"}, el("button", {id: "surv-run", onclick: survRun}, "Fit survival")),
      el("div", {id: "surv-out"}));
      const guess = (id, names) => { const s = d.querySelector(`#${id}`); const hit = COLS.columns.find(c =>
        names.includes(c.toLowerCase())); if (hit) s.value = hit; };
      guess("surv-time", ["time", "os", "days", "months"]); guess("surv-event", ["status", "event", "dead"]);
      return d; }],
  ]));
}

function init() {
  $("#main").append(el("h1", {}, "Biomarker analysis"),
    el("p", {class: "lead"}, "Upload a measurement table (CSV, TSV, Parquet or Excel, one row per sample). The " +
      "file is analysed on this machine with the same code as ", el("code", {}, "exoniche biomarkers"),
      ", so the numbers equal the command line's; malformed files get the same messages, naming row and column."),
    el("div", {class: "card"}, el("label", {for: "table-file"}, "table"), el("input", {type: "file", id: "table-file",
      accept: ".csv,.tsv,.tab,.txt,.parquet,.pq,.xlsx,.xlsm", onchange: (e) => e.target.files[0] && loaded(e.target.files[0])}),
      el("div", {id: "file-info"})),
    el("div", {class: "card", id: "analysis"}, el("p", {class: "muted"}, "Choose a table to start.")));
}
document.addEventListener("DOMContentLoaded", init);
