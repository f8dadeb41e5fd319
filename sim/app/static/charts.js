/* Small SVG charts for the app and the lesson: no library, nothing fetched.
 * Each function returns SVG text for data made by sim/app/views.py; times are minutes.
 */
"use strict";
var Charts = (function () {
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var TICKS = [1, 3, 10, 30, 60, 240, 720, 1440, 4320, 10080, 43200];
  function tickLabel(m, t) {
    if (m < 60) return m + " " + t.min;
    if (m < 1440) return m / 60 + " " + t.h;
    return m / 1440 + " " + t.days;
  }
  function svg(w, h, body, label) {
    return '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + w + " " + h + '" width="100%" role="img" aria-label="' +
      esc(label || "") + '">' + body + "</svg>";
  }

  /* Share reached within a time, one step line per mode, log time axis. */
  function ecdf(curves, modes, colours, names, opts) {
    var W = 560, H = 300, L = 52, R = 12, T = 14, B = 44;
    var hi = 60;
    modes.forEach(function (m) { var c = curves[m]; if (c && c.t.length) hi = Math.max(hi, c.t[c.t.length - 1], c.followed || 0); });
    hi *= 1.3;
    var lx = function (v) { return L + (Math.log(Math.max(v, 1)) / Math.log(hi)) * (W - L - R); };
    var ly = function (p) { return T + (1 - p) * (H - T - B); };
    var out = [];
    [0, 0.25, 0.5, 0.75, 1].forEach(function (p) {
      out.push('<line x1="' + L + '" x2="' + (W - R) + '" y1="' + ly(p) + '" y2="' + ly(p) + '" stroke="#e4e4e4"/>');
      out.push('<text x="' + (L - 6) + '" y="' + (ly(p) + 4) + '" text-anchor="end" font-size="11">' + Math.round(p * 100) + "%</text>");
    });
    TICKS.filter(function (t) { return t <= hi; }).forEach(function (t) {
      out.push('<line x1="' + lx(t) + '" x2="' + lx(t) + '" y1="' + T + '" y2="' + (H - B) + '" stroke="#eeeeee"/>');
      out.push('<text x="' + lx(t) + '" y="' + (H - B + 15) + '" text-anchor="middle" font-size="11">' + esc(tickLabel(t, opts.units)) + "</text>");
    });
    if (opts.target) {
      out.push('<line x1="' + lx(opts.target) + '" x2="' + lx(opts.target) + '" y1="' + T + '" y2="' + (H - B) +
        '" stroke="#000" stroke-dasharray="5 4"><title>' + esc(opts.targetLabel) + "</title></line>");
    }
    modes.forEach(function (m, k) {
      var c = curves[m];
      if (!c || !c.t.length) return;
      var d = "M" + lx(1) + "," + ly(0);
      for (var i = 0; i < c.t.length; i++) d += " H" + lx(c.t[i]).toFixed(1) + " V" + ly(c.p[i]).toFixed(1);
      d += " H" + lx(Math.max(c.followed || c.t[c.t.length - 1], c.t[c.t.length - 1])).toFixed(1);
      var dash = k > 2 ? ' stroke-dasharray="7 3"' : "";
      out.push('<path class="curve" data-mode="' + esc(m) + '" d="' + d + '" fill="none" stroke="' + colours[m] + '" stroke-width="2.4"' + dash + "/>");
      if (c.median != null) out.push('<circle cx="' + lx(c.median) + '" cy="' + ly(0.5) + '" r="4.5" fill="' + colours[m] + '" stroke="#fff"/>');
    });
    out.push('<text x="' + ((L + W - R) / 2) + '" y="' + (H - 8) + '" text-anchor="middle" font-size="12">' + esc(opts.xlabel) + "</text>");
    out.push('<text transform="translate(13,' + ((T + H - B) / 2) + ') rotate(-90)" text-anchor="middle" font-size="12">' + esc(opts.ylabel) + "</text>");
    var y = T + 8;
    modes.forEach(function (m) {
      out.push('<rect x="' + (W - R - 150) + '" y="' + (H - B - 14 - 16 * (modes.length - modes.indexOf(m) - 1) - 8) + '" width="12" height="4" fill="' + colours[m] + '"/>');
      out.push('<text x="' + (W - R - 134) + '" y="' + (H - B - 14 - 16 * (modes.length - modes.indexOf(m) - 1) - 3) + '" font-size="11">' + esc(names[m]) + "</text>");
    });
    return svg(W, H, out.join(""), opts.title);
  }

  /* Viridis, approximately (5 stops). */
  var VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  function viridis(x) {
    x = Math.min(1, Math.max(0, x)) * (VIRIDIS.length - 1);
    var i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i, a = VIRIDIS[i], b = VIRIDIS[i + 1];
    return "rgb(" + [0, 1, 2].map(function (k) { return Math.round(a[k] + f * (b[k] - a[k])); }).join(",") + ")";
  }

  /* One small map per mode: patches coloured by mean response on one log scale. */
  function map(data, modes, colours, names, opts) {
    var xs = data.xy.map(function (p) { return p[0]; }), ys = data.xy.map(function (p) { return p[1]; });
    var k = data.patch_km, x0 = Math.min.apply(null, xs) - k / 2, x1 = Math.max.apply(null, xs) + k / 2;
    var y0 = Math.min.apply(null, ys) - k / 2, y1 = Math.max.apply(null, ys) + k / 2;
    var vals = [];
    modes.forEach(function (m) { data.means[m].forEach(function (v) { if (v != null && v > 0) vals.push(v); }); });
    var lo = Math.max(1, Math.min.apply(null, vals.length ? vals : [1])), hi = Math.max(lo * 2, Math.max.apply(null, vals.length ? vals : [60]));
    var panel = 170, gap = 14, s = panel / Math.max(x1 - x0, y1 - y0), top = 20;
    var W = modes.length * (panel + gap) + gap, H = top + panel * (y1 - y0) / Math.max(x1 - x0, y1 - y0) + 40;
    var out = [];
    modes.forEach(function (m, i) {
      var ox = gap + i * (panel + gap);
      out.push('<text x="' + (ox + panel / 2) + '" y="14" text-anchor="middle" font-size="12" font-weight="bold" fill="' + colours[m] + '">' + esc(names[m]) + "</text>");
      data.xy.forEach(function (p, j) {
        var v = data.means[m][j];
        var fill = v == null ? "#dddddd" : viridis(Math.log(Math.max(v, lo) / lo) / Math.log(hi / lo));
        out.push('<rect x="' + (ox + (p[0] - k / 2 - x0) * s).toFixed(1) + '" y="' + (top + (y1 - p[1] - k / 2) * s).toFixed(1) +
          '" width="' + (k * s - 1).toFixed(1) + '" height="' + (k * s - 1).toFixed(1) + '" fill="' + fill + '"><title>' +
          (v == null ? "-" : v.toFixed(1) + " " + opts.units.min) + "</title></rect>");
      });
    });
    var gy = H - 22, gw = Math.min(300, W - 2 * gap), stops = "";
    for (var i = 0; i <= 10; i++) stops += '<stop offset="' + i * 10 + '%" stop-color="' + viridis(i / 10) + '"/>';
    out.push('<defs><linearGradient id="vir' + opts.id + '">' + stops + "</linearGradient></defs>");
    out.push('<rect x="' + gap + '" y="' + gy + '" width="' + gw + '" height="8" fill="url(#vir' + opts.id + ')"/>');
    out.push('<text x="' + gap + '" y="' + (gy + 20) + '" font-size="11">' + lo.toFixed(0) + " " + esc(opts.units.min) + "</text>");
    out.push('<text x="' + (gap + gw) + '" y="' + (gy + 20) + '" font-size="11" text-anchor="end">' + hi.toFixed(0) + " " + esc(opts.units.min) + "</text>");
    out.push('<text x="' + (gap + gw + 10) + '" y="' + (gy + 8) + '" font-size="11">' + esc(opts.legend) + "</text>");
    return svg(W, H, out.join(""), opts.title);
  }

  /* Utilisation per department, a bar per mode. */
  function bars(values, departments, modes, colours, names, opts) {
    var row = 12, groupGap = 10, L = 130, W = 560, R = 40, T = 8;
    var H = T + departments.length * (modes.length * row + groupGap) + 24;
    var hi = 1;
    departments.forEach(function (d) { modes.forEach(function (m) { hi = Math.max(hi, values[d][m] || 0); }); });
    var sx = function (v) { return L + (v / hi) * (W - L - R); };
    var out = [], y = T;
    [0, 0.5, 1].forEach(function (v) {
      out.push('<line x1="' + sx(v) + '" x2="' + sx(v) + '" y1="' + T + '" y2="' + (H - 20) + '" stroke="#e4e4e4"/>');
      out.push('<text x="' + sx(v) + '" y="' + (H - 6) + '" text-anchor="middle" font-size="11">' + v * 100 + "%</text>");
    });
    departments.forEach(function (d) {
      out.push('<text x="' + (L - 6) + '" y="' + (y + modes.length * row / 2 + 4) + '" text-anchor="end" font-size="12">' + esc(opts.labels[d]) + "</text>");
      modes.forEach(function (m) {
        var v = values[d][m] || 0;
        out.push('<rect x="' + L + '" y="' + y + '" width="' + Math.max(0.5, sx(v) - L).toFixed(1) + '" height="' + (row - 2) + '" fill="' + colours[m] + '"><title>' +
          esc(names[m]) + ": " + Math.round(v * 100) + "%</title></rect>");
        y += row;
      });
      y += groupGap;
    });
    return svg(W, H, out.join(""), opts.title);
  }

  /* One incident under each mode: events on a line, desk office hours shaded. */
  function timeline(data, modes, colours, names, text, opts) {
    var W = 900, L = 90, R = 20, T = 26, rowH = 46, H = T + modes.length * rowH + 30;
    var span = data.span_h, sx = function (h) { return L + (h / span) * (W - L - R); };
    var out = ['<rect x="' + L + '" y="' + T + '" width="' + (W - L - R) + '" height="' + (modes.length * rowH) + '" fill="#e6e6e6"/>'];
    data.open.forEach(function (s) {
      out.push('<rect x="' + sx(s[0]) + '" y="' + T + '" width="' + Math.max(0.5, sx(s[1]) - sx(s[0])) + '" height="' + (modes.length * rowH) + '" fill="#c7e9c0"/>');
    });
    var step = span <= 8 ? 1 : span <= 48 ? 6 : 24;
    for (var h = 0; h <= span; h += step) {
      out.push('<text x="' + sx(h) + '" y="' + (H - 12) + '" text-anchor="middle" font-size="11">' + h + "</text>");
    }
    out.push('<text x="' + (W - R) + '" y="' + (H - 0) + '" text-anchor="end" font-size="11">' + esc(opts.xlabel) + "</text>");
    out.push('<rect x="' + L + '" y="4" width="12" height="10" fill="#c7e9c0"/><text x="' + (L + 16) + '" y="13" font-size="11">' + esc(opts.desks) + "</text>");
    modes.forEach(function (m, i) {
      var r = data.rows[m];
      if (!r) return;
      var y = T + i * rowH + rowH / 2, hs = r.hours;
      out.push('<text x="' + (L - 8) + '" y="' + (y + 4) + '" text-anchor="end" font-size="12" font-weight="bold" fill="' + colours[m] + '">' + esc(names[m]) + "</text>");
      out.push('<line x1="' + sx(hs[0]) + '" x2="' + sx(hs[hs.length - 1]) + '" y1="' + y + '" y2="' + y + '" stroke="' + colours[m] + '" stroke-width="2"/>');
      if (r.dispatched_h != null) {
        out.push('<line x1="' + sx(r.dispatched_h) + '" x2="' + sx(hs[hs.length - 1]) + '" y1="' + y + '" y2="' + y + '" stroke="' + colours[m] + '" stroke-width="9" opacity="0.55"/>');
      }
      hs.forEach(function (hh, j) {
        out.push('<circle cx="' + sx(hh).toFixed(1) + '" cy="' + y + '" r="4" fill="' + colours[m] + '" stroke="#000"><title>' + esc(text.events[m][j]) + "</title></circle>");
      });
      var end = sx(hs[hs.length - 1]), right = end > W - 260;
      out.push('<text class="outcome" x="' + (right ? end - 8 : end + 8) + '" y="' + (y - 8) + '" font-size="12" font-weight="bold" text-anchor="' +
        (right ? "end" : "start") + '" fill="' + colours[m] + '">' + esc(text.outcome[m]) + "</text>");
    });
    return svg(W, H, out.join(""), text.title);
  }

  /* An HTML table; the first row is the header. */
  function table(header, rows, colours, modes) {
    var head = header.map(function (h, i) {
      var c = i > 0 && modes ? ' style="color:' + colours[modes[i - 1]] + '"' : "";
      return "<th" + c + ">" + esc(h) + "</th>";
    }).join("");
    var body = rows.map(function (r) { return "<tr>" + r.map(function (c) { return "<td>" + esc(c) + "</td>"; }).join("") + "</tr>"; }).join("");
    return "<table><thead><tr>" + head + "</tr></thead><tbody>" + body + "</tbody></table>";
  }

  /* The results panel of a view (sim/app/views.py) in language *lang*, with the page's words T. */
  function results(view, lang, T, id) {
    var W = view.text[lang], modes = view.modes, col = view.colours, names = W.modes;
    var units = { min: T.unit_min, h: T.unit_h, days: T.unit_days };
    var parts = [];
    var spans = modes.map(function (m) {
      var v = view.medians[m];
      return '<span class="median" data-mode="' + esc(m) + '" data-value="' + (v == null ? "" : v) + '" style="color:' + col[m] + '">' +
        esc(names[m]) + " <b>" + esc(W.medians[m]) + "</b></span>";
    }).join(" ");
    parts.push('<section class="card wide"><p id="headline" class="headline">' + esc(W.headline) + '</p><p class="medians">' + spans + "</p></section>");
    if (view.timeline) {
      parts.push('<section class="card wide" id="timeline-card"><h3>' + esc(view.timeline.text[lang].title) + "</h3><p class=\"muted\">" +
        esc(view.timeline.text[lang].subtitle) + "</p>" +
        timeline(view.timeline, modes.filter(function (m) { return view.timeline.rows[m]; }), col, names, view.timeline.text[lang], { xlabel: T.hours_since, desks: T.desk_hours }) + "</section>");
    }
    var ecdfOpts = function (title) {
      return { units: units, target: view.target_min, targetLabel: T.target, xlabel: T.minutes_log, ylabel: T.share_reached, title: title };
    };
    parts.push('<section class="card" id="distribution-card"><h3>' + esc(T.distribution) + ": " + esc(W.focus) + "</h3>" +
      ecdf(view.curves.focus, modes, col, names, ecdfOpts(W.focus)) + "</section>");
    parts.push('<section class="card"><h3>' + esc(T.distribution) + ": " + esc(T.distribution_all) + "</h3>" +
      ecdf(view.curves.all, modes, col, names, ecdfOpts(T.distribution_all)) + "</section>");
    var header = modes.map(function (m) { return names[m]; });
    parts.push('<section class="card" id="types-card"><h3>' + esc(T.types) + "</h3>" + table([T.incident_type].concat(header), W.types, col, modes) + "</section>");
    parts.push('<section class="card"><h3>' + esc(T.glance) + "</h3>" + table([""].concat(header), W.glance, col, modes) + "</section>");
    if (view.map) {
      parts.push('<section class="card wide" id="map-card"><h3>' + esc(T.map) + "</h3>" +
        map(view.map, modes, col, names, { units: units, legend: T.mean_response, id: id || "m", title: T.map }) + "</section>");
    }
    if (view.centres && W.centres) {
      parts.push('<section class="card wide" id="centres-card" data-values="' + esc(JSON.stringify(view.centres)) + '"><h3>' + esc(T.centres) + "</h3>" +
        table([""].concat(header), W.centres, col, modes) + '<p class="muted small">' + esc(T.centres_note) + "</p></section>");
    }
    if (view.campaigns && W.campaigns) {
      parts.push('<section class="card wide" id="campaigns-card" data-values="' + esc(JSON.stringify(view.campaigns)) + '"><h3>' + esc(T.campaigns) + "</h3>" +
        table([""].concat(header), W.campaigns, col, modes) + '<p class="muted small">' + esc(T.campaigns_note) + "</p></section>");
    }
    var depts = Object.keys(view.utilisation);
    parts.push('<section class="card wide" id="utilisation-card"><h3>' + esc(T.utilisation) + "</h3>" +
      '<div style="max-width:640px">' + bars(view.utilisation, depts, modes, col, names, { labels: W.departments, title: T.utilisation }) + "</div></section>");
    return parts.join("");
  }

  return { ecdf: ecdf, map: map, bars: bars, timeline: timeline, table: table, esc: esc, results: results };
})();
