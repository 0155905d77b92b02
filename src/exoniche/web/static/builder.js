// Scenario builder: a form over the scenario schema -> TOML (docs/scenarios.md), validated live by the server
// with the CLI's parser; run it, follow its progress (server-sent events) and look at the result.
"use strict";
let SCHEMA = null;
const NUM = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const TEMPLATES = {
  "Tumour-bearing patient (human, 4175-LuT, anti-PD-1 vs control)": {
    name: "anti-PD-1 in a lung-tropic breast tumour", description: "", duration_days: "30", output_step_days: "1",
    replicates: "20", seed: "1", physiology: "human", immune_status: "immunocompetent", model: "tumour",
    preset: "4175-LuT", initial_g: "1", arms: "control",
    interventions: [{type: "anti_pd1", start_day: "5", dose_mg_per_kg: "10"}]},
  "Labelled-exosome injection (mouse, 24 h uptake)": {
    name: "4175-LuT exosome uptake", description: "10 ug labelled exosomes IV", duration_days: "1",
    output_step_days: "0.25", replicates: "10", seed: "3", physiology: "mouse", immune_status: "immunocompetent",
    model: "injection", source: "4175-LuT", times_days: "0", dose_ug: "10", arms: "control",
    interventions: [{type: "knockdown", target: "ITGβ4", on: "injection"}]},
  "Tumour-cell challenge after education (mouse)": {
    name: "education then challenge", description: "", duration_days: "42", output_step_days: "1",
    replicates: "20", seed: "7", physiology: "mouse", immune_status: "immunodeficient", model: "injection",
    source: "BxPC-3-LiT", times_days: "0, 2, 4, 6, 8, 10", dose_ug: "5", challenge: true, challenge_day: "21",
    cells: "1e5", route: "portal", arms: "single", interventions: []},
};

function q(v) { return NUM.test(String(v).trim()) ? String(v).trim() : JSON.stringify(String(v)); }
function list(v) {
  const parts = String(v).split(",").map(s => s.trim()).filter(Boolean);
  return parts.every(p => NUM.test(p)) ? `[${parts.join(", ")}]` : JSON.stringify(String(v));
}

function input(id, label, value = "", attrs = {}) {
  return el("div", {}, el("label", {for: id}, label), el("input", {type: "text", id, value, ...attrs}));
}
function select(id, label, values, value, labels = null) {
  const s = el("select", {id}); options(s, values, labels, value);
  return el("div", {}, el("label", {for: id}, label), s);
}
const val = (id) => { const e = document.getElementById(id); return e ? e.value.trim() : ""; };

function interventionRow(iv = {type: "anti_pd1"}) {
  const box = el("div", {class: "iv"});
  const types = Object.keys(SCHEMA.interventions);
  const typeSel = el("select", {class: "iv-type"}); options(typeSel, types, types.map(t =>
    `${t} — ${SCHEMA.interventions[t].label}`), iv.type);
  const fields = el("div", {class: "row iv-fields", style: "flex-wrap:wrap"});
  const drawFields = () => {
    const spec = SCHEMA.interventions[typeSel.value];
    fields.replaceChildren(...spec.fields.filter(f => f !== "type" && f !== "label").map(f => {
      const e = f === "on" ? el("select", {"data-field": f}) : el("input", {type: "text", "data-field": f,
        value: iv.type === typeSel.value && iv[f] !== undefined ? iv[f] : "",
        placeholder: f === "stop_day" ? "end" : (["effect", "residual", "fold", "kill_per_day"].includes(f) &&
          spec.effect_unit ? spec.effect_unit : "")});
      if (f === "on") options(e, ["tumour", "injection"], null, iv.on || "tumour");
      return el("div", {style: "min-width:140px"}, el("label", {}, f), e);
    }));
    box.title = spec.description;
  };
  typeSel.addEventListener("change", () => { drawFields(); changed(); });
  fields.addEventListener("input", changed); fields.addEventListener("change", changed);
  drawFields();
  box.append(el("button", {class: "rm", title: "remove", onclick: () => { box.remove(); changed(); }}, "✕"),
    el("label", {}, "type"), typeSel, fields);
  return box;
}

function readInterventions() {
  return [...document.querySelectorAll(".iv")].map(box => {
    const iv = {type: box.querySelector(".iv-type").value};
    box.querySelectorAll("[data-field]").forEach(e => { if (e.value.trim() !== "") iv[e.dataset.field] = e.value.trim(); });
    return iv;
  });
}

function toToml() {
  const L = [];
  const top = (k, v, fmt = q) => { if (v !== "") L.push(`${k} = ${fmt(v)}`); };
  L.push(`name = ${JSON.stringify(val("name") || "scenario")}`);
  if (val("description")) L.push(`description = ${JSON.stringify(val("description"))}`);
  top("duration_days", val("duration_days")); top("output_step_days", val("output_step_days"));
  top("replicates", val("replicates")); top("seed", val("seed"));
  L.push("", "[host]", `physiology = ${JSON.stringify(val("physiology"))}`,
    `immune_status = ${JSON.stringify(val("immune_status"))}`);
  if (val("model") === "tumour") {
    L.push("", "[tumour]", `preset = ${JSON.stringify(val("preset"))}`); top("initial_g", val("initial_g"));
  } else {
    L.push("", "[injection]", `source = ${JSON.stringify(val("source"))}`);
    top("times_days", val("times_days"), list); top("dose_ug", val("dose_ug"));
  }
  if ($("#challenge").checked) {
    L.push("", "[challenge]"); top("day", val("challenge_day")); top("cells", val("cells"));
    L.push(`route = ${JSON.stringify(val("route"))}`);
  }
  const organs = [...document.querySelectorAll(".organ:checked")].map(e => e.value);
  if (organs.length && organs.length < Object.keys(SCHEMA.organs).length)
    L.push("", "[readouts]", `organs = [${organs.map(o => JSON.stringify(o)).join(", ")}]`);
  const ivs = readInterventions();
  const inline = iv => "{ " + Object.entries(iv).map(([k, v]) => `${k} = ${["type", "on", "target", "label"]
    .includes(k) ? JSON.stringify(v) : q(v)}`).join(", ") + " }";
  if (val("arms") === "control") {
    L.push("", "[arms.control]", 'description = "no intervention"', "", "[arms.treated]",
      `description = ${JSON.stringify(ivs.map(i => i.type).join(" + ") || "same as control")}`);
    if (ivs.length) L.push(`interventions = [${ivs.map(inline).join(", ")}]`);
  } else {
    for (const iv of ivs) {
      L.push("", "[[interventions]]");
      for (const [k, v] of Object.entries(iv)) L.push(`${k} = ${["type", "on", "target", "label"].includes(k) ?
        JSON.stringify(v) : q(v)}`);
    }
  }
  return L.join("\n") + "\n";
}

let timer = null, editedByHand = false;
function changed() {
  if (!SCHEMA) return;
  $("#model-tumour").style.display = val("model") === "tumour" ? "" : "none";
  $("#model-injection").style.display = val("model") === "injection" ? "" : "none";
  $("#challenge-fields").style.display = $("#challenge").checked ? "" : "none";
  $("#toml").value = toToml(); editedByHand = false;
  scheduleValidate();
}
function scheduleValidate() { clearTimeout(timer); timer = setTimeout(validate, 250); }

async function validate() {
  const out = $("#validation");
  try {
    await api(`/api/scenarios/validate?filename=${encodeURIComponent(fileName())}`, {method: "POST",
      body: $("#toml").value});
    status(out, "ok", "✓ valid scenario"); $("#run").disabled = false; return true;
  } catch (e) {
    status(out, "bad", (e.body && e.body.error) || e.message); $("#run").disabled = true; return false;
  }
}
function fileName() { return (val("name") || "scenario").replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 60) + ".toml"; }

function fill(t) {
  for (const [k, v] of Object.entries(t)) {
    const e = document.getElementById(k);
    if (e && typeof v !== "object") { if (e.type === "checkbox") e.checked = !!v; else e.value = v; }
  }
  $("#challenge").checked = !!t.challenge;
  $("#ivs").replaceChildren(...(t.interventions || []).map(interventionRow));
  changed();
}

function fromDoc(doc) {
  // A TOML file loaded into the form; what the form cannot show stays editable in the TOML box.
  const arms = doc.arms || {};
  const armIvs = Object.values(arms).flatMap(a => a.interventions || []);
  const t = {name: doc.name || "", description: doc.description || "", duration_days: doc.duration_days ?? "",
    output_step_days: doc.output_step_days ?? "", replicates: doc.replicates ?? "", seed: doc.seed ?? "",
    physiology: (doc.host || {}).physiology || "mouse", immune_status: (doc.host || {}).immune_status ||
      "immunocompetent", model: doc.tumour ? "tumour" : "injection", preset: (doc.tumour || {}).preset || "4175-LuT",
    initial_g: (doc.tumour || {}).initial_g ?? "", source: (doc.injection || {}).source || "4175-LuT",
    times_days: ((doc.injection || {}).times_days || []).join(", "), dose_ug: (doc.injection || {}).dose_ug ?? "",
    challenge: !!doc.challenge, challenge_day: (doc.challenge || {}).day ?? "", cells: (doc.challenge || {}).cells ?? "",
    route: (doc.challenge || {}).route || "venous", arms: Object.keys(arms).length ? "control" : "single",
    interventions: (doc.interventions || armIvs).map(iv => Object.fromEntries(Object.entries(iv).map(([k, v]) =>
      [k, String(v)])))};
  fill(t);
}

async function upload(file) {
  const text = await file.text();
  try {
    fromDoc(await api(`/api/scenarios/parse?filename=${encodeURIComponent(file.name)}`, {method: "POST", body: text}));
  } catch (e) { /* not TOML: show it as is, with the parser's message */ }
  $("#toml").value = text; editedByHand = true; validate();
}

async function run() {
  if (!(await validate())) return;
  const res = $("#result"), prog = el("div", {class: "progress"}, el("div", {id: "bar"}));
  const line = el("div", {class: "status info", id: "run-status"}, "queued…");
  res.replaceChildren(el("h2", {}, "Run"), line, prog, el("div", {id: "run-view"}));
  $("#run").disabled = true;
  let id;
  try {
    id = (await api(`/api/runs?filename=${encodeURIComponent(fileName())}`, {method: "POST",
      body: $("#toml").value})).id;
  } catch (e) { line.className = "status bad"; line.textContent = e.message; $("#run").disabled = false; return; }
  line.textContent = `run ${id}: queued`;
  const es = new EventSource(`/api/runs/${id}/events`);
  const update = (ev) => {
    const s = JSON.parse(ev.data);
    const p = s.progress.total ? s.progress.done / s.progress.total : 0;
    $("#bar").style.width = `${Math.max(5, 100 * p)}%`;
    line.textContent = `run ${id}: ${s.status} — ${s.progress.done} of ${s.progress.total} arm(s) finished`;
  };
  es.addEventListener("progress", update);
  es.addEventListener("failed", (ev) => { es.close(); update(ev); line.className = "status bad";
    line.textContent = `run ${id} failed: ${JSON.parse(ev.data).error}`; $("#run").disabled = false; });
  es.addEventListener("done", async (ev) => {
    es.close(); update(ev); line.className = "status ok"; $("#bar").style.width = "100%";
    const state = await api(`/api/runs/${id}`);
    await renderRun($("#run-view"), id, state.summary);
    $("#run").disabled = false;
  });
}

async function init() {
  SCHEMA = await api("/api/schema"); window.ORGAN_NAMES = SCHEMA.organs;
  const presets = Object.keys(SCHEMA.presets);
  const presetLabels = presets.map(p => `${p} (${SCHEMA.presets[p].cancer_type})`);
  const tmpl = el("select", {id: "template"}); options(tmpl, Object.keys(TEMPLATES));
  const main = $("#main");
  main.append(el("h1", {}, "Scenario builder"),
    el("p", {class: "lead"}, "Build a virtual experiment, check it as you type (the same checks as ",
      el("code", {}, "exoniche run"), "), run it here and follow its progress. Download the TOML to run it later " +
      "from the command line."),
    el("div", {class: "grid side"},
      el("div", {class: "card", id: "form"},
        el("div", {class: "row"}, el("div", {}, el("label", {for: "template"}, "start from"), tmpl),
          el("div", {style: "flex:0 0 auto;align-self:flex-end"}, el("button", {class: "secondary",
            onclick: () => fill(TEMPLATES[tmpl.value])}, "Load"))),
        el("fieldset", {}, el("legend", {}, "Scenario"), input("name", "name"), input("description", "description"),
          el("div", {class: "row"}, input("duration_days", "duration (days)"), input("output_step_days",
            "output step (days)")),
          el("div", {class: "row"}, input("replicates", "stochastic replicates"), input("seed", "seed"))),
        el("fieldset", {}, el("legend", {}, "Host"), el("div", {class: "row"},
          select("physiology", "physiology", SCHEMA.physiologies, "human"),
          select("immune_status", "immune status", SCHEMA.immune_status, "immunocompetent"))),
        el("fieldset", {}, el("legend", {}, "Tumour or exosomes"),
          select("model", "experiment", ["tumour", "injection"], "tumour",
            ["tumour-bearing host", "exosome injection (education / labelled exosomes)"]),
          el("div", {id: "model-tumour", class: "row"}, select("preset", "tumour preset", presets, "4175-LuT",
            presetLabels), input("initial_g", "initial mass (g)")),
          el("div", {id: "model-injection"}, el("div", {class: "row"}, select("source", "exosome source", presets,
            "4175-LuT", presetLabels), input("dose_ug", "dose (µg)")), input("times_days", "injection days (comma separated)")),
          el("label", {}, el("input", {type: "checkbox", id: "challenge"}), " tumour-cell challenge"),
          el("div", {id: "challenge-fields", class: "row"}, input("challenge_day", "day"), input("cells", "cells"),
            select("route", "route", SCHEMA.routes, "venous"))),
        el("fieldset", {}, el("legend", {}, "Interventions"),
          select("arms", "arms", ["control", "single"], "control",
            ["two arms: control, and treated with these interventions", "one arm with these interventions"]),
          el("div", {id: "ivs"}),
          el("button", {class: "secondary", id: "add-iv", onclick: () => { $("#ivs").append(interventionRow());
            changed(); }}, "+ intervention")),
        el("fieldset", {}, el("legend", {}, "Read-out organs"), el("div", {},
          Object.entries(SCHEMA.organs).map(([o, n]) => el("label", {style: "display:inline-block;margin-right:12px"},
            el("input", {type: "checkbox", class: "organ", value: o, checked: true}), ` ${n}`))))),
      el("div", {},
        el("div", {class: "card"}, el("h2", {}, "Scenario file (TOML)"),
          el("textarea", {id: "toml", spellcheck: "false"}),
          el("div", {id: "validation"}),
          el("div", {class: "actions"},
            el("button", {id: "run", onclick: run}, "Run scenario"),
            el("button", {class: "secondary", onclick: () => download(fileName(), $("#toml").value, "application/toml")},
              "Download TOML"),
            el("label", {class: "button secondary", style: "margin:0;color:var(--accent)"}, "Upload TOML",
              el("input", {type: "file", id: "upload", accept: ".toml,text/plain", style: "display:none",
                onchange: (e) => e.target.files[0] && upload(e.target.files[0])})))),
        el("div", {class: "card", id: "result"}, el("h2", {}, "Run"),
          el("p", {class: "muted"}, "Runs go to the server's runs folder and appear in ", el("a", {href: "/runs"},
            "Runs"), ". Short scenarios (few days, few replicates) finish in seconds.")))));
  $("#form").addEventListener("input", changed); $("#form").addEventListener("change", changed);
  $("#toml").addEventListener("input", () => { editedByHand = true; scheduleValidate(); });
  fill(TEMPLATES[Object.keys(TEMPLATES)[0]]);
}
document.addEventListener("DOMContentLoaded", init);
