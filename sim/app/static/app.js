/* The app's page: controls -> settings -> a run in a worker -> the results, in English or Chinese. */
"use strict";
(function () {
  var S = {
    lang: "en", text: null, controls: null, preset: "fragmented", job: null, done: null, view: null, timer: null,
    client: Math.random().toString(36).slice(2) + Date.now().toString(36),
  };
  var LEVER_RADIOS = ["information", "dispatch", "coordination"];

  function $(id) { return document.getElementById(id); }
  function T() { return S.text[S.lang]; }

  function api(method, url, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    return fetch(url, init).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      var data = type.indexOf("json") >= 0 ? r.json() : r.text();
      return data.then(function (d) { return { ok: r.ok, status: r.status, data: d }; });
    });
  }

  /* ------------------------------------------------------------- words */

  function translate() {
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    var t = T();
    document.querySelectorAll("[data-t]").forEach(function (el) {
      var key = el.getAttribute("data-t");
      if (t[key] !== undefined) el.textContent = t[key];
    });
    document.querySelectorAll("[data-preset]").forEach(function (b) { b.textContent = t[b.getAttribute("data-preset")]; });
    document.querySelectorAll("[data-lang]").forEach(function (b) { b.classList.toggle("on", b.getAttribute("data-lang") === S.lang); });
    document.querySelectorAll("[data-dept]").forEach(function (el) {
      el.textContent = S.controls.department_labels[S.lang][el.getAttribute("data-dept")];
    });
    document.querySelectorAll("[data-centre-label]").forEach(function (el) {
      var level = el.getAttribute("data-centre-label");
      el.textContent = t.centre_operators.replace("{level}", S.controls.level_labels[S.lang][level] || level)
        .replace("{n}", el.getAttribute("data-centres"));
    });
    document.querySelectorAll("[data-campaign-label]").forEach(function (el) {
      el.textContent = t.campaign_on.replace("{name}", el.getAttribute("data-campaign-label").replace(/_/g, " "));
    });
    document.title = t.title;
    if (S.status) status(S.status[0], S.status[1], S.status[2]);
    if (S.view) render(S.view);
  }

  /* ------------------------------------------------------------- controls */

  function buildControls(c) {
    var units = $("units");
    units.innerHTML = "";
    c.departments.forEach(function (d) {
      var label = document.createElement("label");
      label.className = "slider";
      label.innerHTML = '<span data-dept="' + Charts.esc(d.name) + '"></span> <output id="units-' + Charts.esc(d.name) + '-out"></output>' +
        '<input type="range" id="units-' + Charts.esc(d.name) + '" data-units="' + Charts.esc(d.name) + '" min="1" max="' + d.max + '" step="1">';
      units.appendChild(label);
      var input = label.querySelector("input");
      input.value = d.units;
      input.addEventListener("input", changed);
    });
    buildCentres(c.centres || []);
    buildCampaigns(c.campaigns || []);
    $("borders-control").hidden = !c.borders;
    $("handover_min").max = Math.max(240, c.handover_min * 2);
    $("handover_min").value = c.handover_min;
    $("misroute_probability").value = c.misroute_probability;
    $("days").value = c.days;
    $("seed").value = c.seed;
    $("replications").value = 1;
    setLevers(c.presets[S.preset] || c.levers);
    showOutputs();
  }

  function slider(id, attrs, label, min, max, value) {
    var el = document.createElement("label");
    el.className = "slider";
    el.innerHTML = label + ' <output id="' + id + '-out"></output><input type="range" id="' + id + '" ' + attrs +
      ' min="' + min + '" max="' + max + '" step="1">';
    var input = el.querySelector("input");
    input.value = value;
    input.addEventListener("input", changed);
    return el;
  }

  /* One slider per level of staffed centres: the operators of the level's smallest centre (the rest scale). */
  function buildCentres(levels) {
    var box = $("centre-ops");
    box.innerHTML = "";
    $("centre-controls").hidden = levels.length === 0;
    levels.forEach(function (v) {
      var id = "centre-ops-" + Charts.esc(v.level);
      box.appendChild(slider(id, 'data-centre-level="' + Charts.esc(v.level) + '"',
        '<span data-centre-label="' + Charts.esc(v.level) + '" data-centres="' + v.centres + '"></span>', 1, v.max, v.operators));
    });
  }

  /* Per campaign: a switch, and the units each department sends. */
  function buildCampaigns(campaigns) {
    var box = $("campaign-list");
    box.innerHTML = "";
    $("campaign-controls").hidden = campaigns.length === 0;
    campaigns.forEach(function (c) {
      var name = Charts.esc(c.name), div = document.createElement("div");
      div.className = "campaign";
      div.innerHTML = '<label class="check"><input type="checkbox" id="campaign-' + name + '" data-campaign="' + name + '" checked> ' +
        '<span data-campaign-label="' + name + '"></span></label>';
      div.querySelector("input").addEventListener("input", changed);
      c.departments.forEach(function (d) {
        div.appendChild(slider("campaign-" + name + "-" + Charts.esc(d.name),
          'data-campaign-units="' + name + '" data-campaign-dept="' + Charts.esc(d.name) + '"',
          '<span data-dept="' + Charts.esc(d.name) + '"></span> <span class="muted" data-t="campaign_units"></span>', 1, d.max, d.units));
      });
      box.appendChild(div);
    });
  }

  function setLevers(l) {
    $("pooled").checked = l.pooled === "all";
    LEVER_RADIOS.forEach(function (name) {
      document.querySelectorAll('input[name="' + name + '"]').forEach(function (r) { r.checked = r.value === l[name]; });
    });
    $("leave_probability").value = l.leave_probability;
    $("closed_loop").checked = !!l.closed_loop;
    $("dispatch_across_borders").checked = l.dispatch_across_borders !== false;
  }

  function levers() {
    var l = {
      pooled: $("pooled").checked ? "all" : "none", leave_probability: Number($("leave_probability").value),
      closed_loop: $("closed_loop").checked, dispatch_across_borders: $("dispatch_across_borders").checked,
    };
    LEVER_RADIOS.forEach(function (name) {
      var on = document.querySelector('input[name="' + name + '"]:checked');
      l[name] = on ? on.value : null;
    });
    return l;
  }

  function settings() {
    var units = {};
    document.querySelectorAll("[data-units]").forEach(function (el) { units[el.getAttribute("data-units")] = Number(el.value); });
    var operators = {}, campaigns = {};
    document.querySelectorAll("[data-centre-level]").forEach(function (el) { operators[el.getAttribute("data-centre-level")] = Number(el.value); });
    document.querySelectorAll("[data-campaign]").forEach(function (el) {
      campaigns[el.getAttribute("data-campaign")] = { on: el.checked, units: {} };
    });
    document.querySelectorAll("[data-campaign-units]").forEach(function (el) {
      campaigns[el.getAttribute("data-campaign-units")].units[el.getAttribute("data-campaign-dept")] = Number(el.value);
    });
    return {
      centre_operators: operators, campaigns: campaigns,
      levers: levers(), units: units, handover_min: Number($("handover_min").value),
      misroute_probability: Number($("misroute_probability").value), days: Number($("days").value),
      seed: $("seed").value === "" ? null : Number($("seed").value), replications: Number($("replications").value),
    };
  }

  function showOutputs() {
    document.querySelectorAll("input[type=range]").forEach(function (el) {
      var out = $(el.id + "_out") || $(el.id + "-out");
      if (!out) return;
      out.textContent = el.id === "handover_min" ? el.value + " " + T().unit_min : el.value;
    });
  }

  function matchPreset(l) {
    var names = ["fragmented", "joint", "unified"];
    for (var i = 0; i < names.length; i++) {
      var p = S.controls.presets[names[i]], same = true;
      Object.keys(p).forEach(function (k) { if (String(p[k]) !== String(l[k])) same = false; });
      if (same) return names[i];
    }
    return "custom";
  }

  function markPreset() {
    document.querySelectorAll("[data-preset]").forEach(function (b) { b.classList.toggle("on", b.getAttribute("data-preset") === S.preset); });
  }

  function changed() {
    S.preset = matchPreset(levers());
    markPreset();
    showOutputs();
    schedule();
  }

  /* ------------------------------------------------------------- runs */

  function schedule() {
    S.ticket = (S.ticket || 0) + 1;  // a run asked for before now is no longer wanted
    if (S.job) {  // a control changed while a run is going: stop it now
      api("POST", "/api/cancel", { job: S.job });
      S.job = null;
      status(0, "cancelled");
    } else {
      status(0, "running");
    }
    $("results").classList.add("stale");
    clearTimeout(S.timer);
    S.timer = setTimeout(run, 250);
  }

  function status(progress, key, seconds) {
    S.status = [progress, key, seconds];
    $("status").setAttribute("data-state", key || "");
    $("progress").value = progress;
    var words = key ? T()[key] : "";
    if (key === "done") words = words.replace("{seconds}", seconds);
    if (key === "queued") words = words.replace("{ahead}", seconds);
    $("status-text").textContent = words || "";
  }

  function showProblems(title, problems) {
    var box = $("problems");
    if (!problems) { box.hidden = true; box.innerHTML = ""; return; }
    box.hidden = false;
    box.innerHTML = "<p><b>" + Charts.esc(title) + "</b></p><ul>" + problems.map(function (p) {
      return "<li>" + Charts.esc(p.text || p.message) + "</li>";
    }).join("") + "</ul>";
  }

  function run() {
    status(0.02, "running");
    var ticket = S.ticket;
    api("POST", "/api/run", { client: S.client, scenario: S.controls.scenario, settings: settings() }).then(function (r) {
      if (ticket !== S.ticket) {  // a control changed while this run was being started: it is not wanted
        if (r.ok) api("POST", "/api/cancel", { job: r.data.job });
        return;
      }
      if (!r.ok) {
        showProblems(r.data.busy ? T().busy : T().problems_settings, r.data.problems);
        status(0, null);
        return;
      }
      showProblems(null);
      S.job = r.data.job;
      poll(S.job);
    });
  }

  function poll(id) {
    api("GET", "/api/job/" + id).then(function (r) {
      if (id !== S.job) return;  // replaced by a newer run
      var j = r.data;
      if (j.view) render(j.view);
      if (j.state === "running" || j.state === "queued") {
        if (j.state === "queued") status(0.01, "queued", j.ahead);
        else status(Math.max(0.02, j.progress), "running");
        setTimeout(function () { poll(id); }, j.state === "queued" ? 400 : 120);
        return;
      }
      S.job = null;
      if (j.state === "done") {
        S.done = id;
        $("download-csv").disabled = false;
        $("download-report").disabled = false;
        status(1, "done", j.seconds);
        $("results").classList.remove("stale");
      } else if (j.state === "problems") {
        showProblems(T().problems, j.problems);
        status(0, null);
      } else if (j.state === "error") {
        showProblems(T().problems, [{ text: j.error }]);
        status(0, null);
      }
    });
  }

  function render(view) {
    S.view = view;
    $("results").innerHTML = Charts.results(view, S.lang, T(), "app");
  }

  /* ------------------------------------------------------------- keeping */

  function save(blob, name) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function link(url, name) {
    var a = document.createElement("a");
    a.href = url;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function downloadYaml() {
    api("POST", "/api/yaml", { scenario: S.controls.scenario, settings: settings() }).then(function (r) {
      if (!r.ok) { showProblems(T().problems_settings, r.data.problems); return; }
      save(new Blob([r.data], { type: "application/yaml" }), "scenario.yaml");
    });
  }

  function downloadReport() {
    var run = S.done, lang = S.lang;
    api("POST", "/api/report", { job: run, lang: lang }).then(function (r) {
      if (!r.ok) { showProblems(r.data.busy ? T().busy : T().problems, r.data.problems); return; }
      var id = r.data.job, file = r.data.file;
      (function wait() {
        api("GET", "/api/job/" + id).then(function (q) {
          if (q.data.state === "running" || q.data.state === "queued") { status(Math.max(0.05, q.data.progress), "report_wait"); setTimeout(wait, 250); return; }
          if (q.data.state === "done") { status(1, null); link("/api/job/" + run + "/" + file, "report.html"); }
          else showProblems(T().problems, [{ text: q.data.error || q.data.state }]);
        });
      })();
    });
  }

  /* ------------------------------------------------------------- start */

  function load(scenario) {
    return api("GET", "/api/init" + (scenario ? "?scenario=" + encodeURIComponent(scenario) : "")).then(function (r) {
      if (!r.ok) { showProblems("", r.data.problems); return; }
      S.text = r.data.text;
      if (!S.started) { S.lang = r.data.lang || "en"; S.started = true; }
      S.controls = r.data.controls;
      var select = $("scenario");
      select.innerHTML = "";
      r.data.scenarios.forEach(function (s) {
        var o = document.createElement("option");
        o.value = s.id; o.textContent = s.label; o.selected = s.id === S.controls.scenario;
        select.appendChild(o);
      });
      buildControls(S.controls);
      markPreset();
      translate();
      S.view = null;
      $("results").innerHTML = "";
      schedule();
    });
  }

  function wire() {
    document.querySelectorAll("#levers input, #handover_min, #misroute_probability").forEach(function (el) { el.addEventListener("input", changed); });
    ["days", "seed", "replications"].forEach(function (id) { $(id).addEventListener("change", changed); });
    document.querySelectorAll("[data-preset]").forEach(function (b) {
      b.addEventListener("click", function () {
        var name = b.getAttribute("data-preset");
        if (name !== "custom") setLevers(S.controls.presets[name]);
        S.preset = name === "custom" ? "custom" : name;
        markPreset();
        schedule();
      });
    });
    document.querySelectorAll("[data-lang]").forEach(function (b) {
      b.addEventListener("click", function () { S.lang = b.getAttribute("data-lang"); translate(); showOutputs(); });
    });
    $("scenario").addEventListener("change", function () { load($("scenario").value); });
    $("upload").addEventListener("change", function () {
      var file = $("upload").files[0];
      if (!file) return;
      file.text().then(function (text) {
        api("POST", "/api/upload", { name: file.name, text: text }).then(function (r) {
          if (!r.ok) { showProblems(T().problems, r.data.problems); return; }
          showProblems(null);
          load(r.data.id);
        });
      });
    });
    $("download-yaml").addEventListener("click", downloadYaml);
    $("download-csv").addEventListener("click", function () { link("/api/job/" + S.done + "/incidents.csv", "incidents.csv"); });
    $("download-report").addEventListener("click", downloadReport);
  }

  wire();
  load(null);
})();
