/* The lesson page: four lever switches and a team size pick one of the precomputed results. */
"use strict";
(function () {
  var D = JSON.parse(document.getElementById("lesson-data").textContent);
  var S = { lang: (typeof START_LANG !== "undefined" && START_LANG) || "en", units: D.start_units };
  var PRESETS = {
    fragmented: { pooled: false, instant: false, nearest: false, concurrent: false },
    joint: { pooled: false, instant: true, nearest: true, concurrent: true },
    unified: { pooled: true, instant: true, nearest: true, concurrent: true },
  };
  function $(id) { return document.getElementById(id); }
  function T() { return D.text[S.lang]; }

  function key() {
    return [$("pooled").checked ? "all" : "none", $("instant").checked ? "instant" : "referral",
      $("nearest").checked ? "nearest" : "own_queue", $("concurrent").checked ? "concurrent" : "sequential", S.units].join("|");
  }

  function draw() {
    var t = T();
    document.documentElement.lang = S.lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-t]").forEach(function (el) { el.textContent = t[el.getAttribute("data-t")]; });
    document.querySelectorAll("[data-preset]").forEach(function (b) {
      var p = PRESETS[b.getAttribute("data-preset")], on = true;
      Object.keys(p).forEach(function (k) { if ($(k).checked !== p[k]) on = false; });
      b.textContent = t[b.getAttribute("data-preset")];
      b.classList.toggle("on", on);
    });
    document.querySelectorAll("[data-lang]").forEach(function (b) { b.classList.toggle("on", b.getAttribute("data-lang") === S.lang); });
    document.querySelectorAll("[data-units]").forEach(function (b) { b.classList.toggle("on", Number(b.getAttribute("data-units")) === S.units); });
    var view = D.views[key()];
    view = Object.assign({}, view, { timeline: D.timelines[String(S.units)] });
    var results = $("results");
    results.setAttribute("data-key", key());
    results.innerHTML = Charts.results(view, S.lang, t, "lesson");
    document.title = t.lesson_title;
  }

  D.sizes.forEach(function (n) {
    var b = document.createElement("button");
    b.type = "button";
    b.setAttribute("data-units", n);
    b.textContent = n;
    b.addEventListener("click", function () { S.units = n; draw(); });
    $("sizes").appendChild(b);
  });
  ["pooled", "instant", "nearest", "concurrent"].forEach(function (id) { $(id).addEventListener("change", draw); });
  document.querySelectorAll("[data-preset]").forEach(function (b) {
    b.addEventListener("click", function () {
      var p = PRESETS[b.getAttribute("data-preset")];
      Object.keys(p).forEach(function (k) { $(k).checked = p[k]; });
      draw();
    });
  });
  document.querySelectorAll("[data-lang]").forEach(function (b) {
    b.addEventListener("click", function () { S.lang = b.getAttribute("data-lang"); draw(); });
  });
  draw();
})();
