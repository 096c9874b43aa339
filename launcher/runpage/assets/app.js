// The live run page: reads the run from /events (server-sent events; the
// first event is the whole run), draws the graph laid out by Graphviz
// (/graph.svg), the timeline, the classes and the shards table, and
// updates them as the launcher reports changes. No library, no network
// beyond this server.
"use strict";
(function () {
  const STATES = ["pending", "re-planned", "submitted", "placed", "running", "complete", "failed", "stopped", "skipped"];
  const $ = (id) => document.getElementById(id);
  const svgNS = "http://www.w3.org/2000/svg";
  let run = null;          // the Run JSON, kept up to date
  let started = 0;         // run start, ms since the epoch
  let skew = 0;            // server clock minus browser clock, ms
  let es = null;
  let selected = -1;
  const hidden = new Set(); // display states filtered out by the chips
  const rows = [];          // per shard: {tr, cells, gantt:{act, pred}, node}
  let ganttScale = null;
  let dirty = false;

  function fmt(s) {
    if (s == null || isNaN(s)) return "–";
    if (s < 60) return s.toFixed(1) + "s";
    const m = Math.floor(s / 60), r = Math.round(s - 60 * m);
    if (m < 60) return m + "m" + String(r).padStart(2, "0") + "s";
    return Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0") + "m";
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }
  function sel(tag, attrs) {
    const e = document.createElementNS(svgNS, tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function nowSeconds() {
    if (run && run.ended) return run.elapsed_seconds;
    return (Date.now() + skew - started) / 1000;
  }

  // ---- whole run ----
  function setRun(r, ended) {
    const first = run === null || run.run !== r.run || run.shards.length !== r.shards.length;
    run = r;
    started = Date.parse(r.started);
    skew = Date.parse(r.now) - Date.now();
    document.title = "Shardwise run " + r.run;
    $("run-id").textContent = r.run;
    $("graph-name").textContent = r.graph;
    $("shard-count").textContent = String(r.shards.length);
    $("predicted").textContent = fmt(r.predicted_makespan_seconds);
    $("nomad-link").href = r.nomad_ui + "/jobs";
    if (first) build();
    for (let i = 0; i < r.shards.length; i++) paintShard(i);
    setCounts(r.counts);
    if (ended) end();
    else setState("live");
    redraw();
  }
  function setState(s) {
    document.body.dataset.state = s;
    $("run-state").textContent = s === "live" ? "running" : s;
  }
  function end() {
    run.ended = true;
    const failed = (run.counts.failed || 0) + (run.counts.stopped || 0) + (run.counts.skipped || 0);
    document.body.classList.toggle("run-failed", failed > 0);
    setState("ended");
    $("run-state").textContent = failed > 0 ? "ended: not every shard completed" : "complete";
    if (es) { es.close(); es = null; }
  }
  function setCounts(counts) {
    run.counts = counts;
    const box = $("counts");
    if (!box.childElementCount) {
      for (const st of STATES) {
        const c = el("span", { class: "chip st-" + st, "data-state": st, title: "show or hide " + st + " shards" });
        c.append(st + " ", el("b", { id: "count-" + st }, "0"));
        c.addEventListener("click", () => { hidden.has(st) ? hidden.delete(st) : hidden.add(st); c.classList.toggle("off"); applyFilter(); });
        box.append(c);
      }
    }
    for (const st of STATES) $("count-" + st).textContent = String(counts[st] || 0);
  }

  // ---- building the views once per run ----
  function build() {
    rows.length = 0;
    const tbody = $("shards").tBodies[0];
    tbody.textContent = "";
    const dl = $("shard-ids");
    dl.textContent = "";
    run.shards.forEach((s, i) => {
      const tr = el("tr", { "data-i": String(i) });
      const cells = {};
      for (const k of ["id", "class", "state", "attempt", "node", "pred", "act", "alloc", "reason"]) {
        const td = el("td", k === "reason" ? { class: "reason" } : {});
        cells[k] = td;
        tr.append(td);
      }
      cells.id.textContent = s.id;
      cells.pred.textContent = fmt(s.predicted_seconds);
      tr.addEventListener("click", (ev) => { if (ev.target.tagName !== "A") select(i, true); });
      tbody.append(tr);
      rows.push({ tr, cells, node: null, gantt: null });
      dl.append(el("option", { value: s.id }));
    });
    buildGantt();
    loadGraph();
  }

  function paintShard(i) {
    const s = run.shards[i], r = rows[i];
    if (!r) return;
    const c = r.cells;
    c.class.textContent = s.class + (s.replanned ? " (planned " + s.planned_class + ")" : "");
    c.state.textContent = s.display;
    c.state.className = "state st-" + s.display;
    c.attempt.textContent = s.attempt ? String(s.attempt) : "–";
    c.node.textContent = s.node || "–";
    c.act.textContent = actual(s) == null ? "–" : fmt(actual(s));
    c.reason.textContent = s.reason || "";
    c.alloc.textContent = "";
    if (s.alloc) c.alloc.append(el("a", { href: s.alloc_url, target: "_blank", rel: "noopener", title: "allocation " + s.alloc + " in Nomad's UI" }, s.alloc.slice(0, 8)));
    else c.alloc.textContent = "–";
    r.tr.dataset.search = [s.id, s.class, s.display, s.node || "", s.job].join(" ").toLowerCase();
    r.tr.hidden = !visible(i);
    if (r.node) {
      r.node.setAttribute("class", "node st-" + s.display + (i === selected ? " sel" : "") + (visible(i) ? "" : " dim"));
    }
    if (i === selected) details(i);
    dirty = true;
  }
  function actual(s) {
    if (s.start_seconds == null) return null;
    const end = s.finish_seconds != null ? s.finish_seconds : (s.state === "running" ? nowSeconds() : null);
    return end == null ? null : Math.max(0, end - s.start_seconds);
  }

  // ---- filter ----
  function visible(i) {
    const s = run.shards[i];
    if (hidden.has(s.display)) return false;
    const q = $("filter").value.trim().toLowerCase();
    return !q || (rows[i].tr.dataset.search || "").includes(q);
  }
  function applyFilter() { for (let i = 0; i < rows.length; i++) paintShard(i); redraw(); }
  $("filter").addEventListener("input", applyFilter);

  // ---- graph (SVG laid out by Graphviz on the server) ----
  let view = null, full = null;
  function loadGraph() {
    $("graph-status").textContent = "laying out…";
    fetch("graph.svg").then((r) => {
      if (!r.ok) throw new Error("graph.svg: HTTP " + r.status);
      return r.text();
    }).then((text) => {
      const doc = new DOMParser().parseFromString(text, "image/svg+xml");
      const svg = document.importNode(doc.documentElement, true);
      svg.removeAttribute("width");
      svg.removeAttribute("height");
      svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
      const box = $("graph");
      box.textContent = "";
      box.append(svg);
      const vb = svg.viewBox.baseVal;
      full = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
      view = Object.assign({}, full);
      rows.forEach((r, i) => {
        r.node = svg.getElementById("n" + i);
        if (r.node) {
          const t = r.node.querySelector("title");
          if (t) t.textContent = run.shards[i].id;
          r.node.addEventListener("click", (ev) => { ev.stopPropagation(); select(i, false); });
        }
        paintShard(i);
      });
      $("graph-status").textContent = rows.filter((r) => r.node).length + " shards laid out by Graphviz dot";
      box.dataset.nodes = String(rows.filter((r) => r.node).length);
      // A small graph is shown at its size (1pt = 4/3 px), not blown up;
      // a large one opens on its first ranks, readable; "fit" shows all.
      const px = box.getBoundingClientRect(), k = 0.75;
      if (full.w < px.width * k && full.h < px.height * k) {
        // Shrink the panel to the graph, within its CSS minimum.
        box.style.height = Math.max(full.h / k + 48, 240) + "px";
        const w = px.width * k, h = (full.h / k + 48) * k;
        full = { x: full.x - (w - full.w) / 2, y: full.y - (h - full.h) / 2, w, h };
        zoomTo(full.x, full.y, full.w, full.h);
      } else if (run.shards.length > 150) {
        // Natural size (10pt labels readable), from the top left.
        zoomTo(full.x, full.y, Math.min(full.w, px.width * k), Math.min(full.h, px.height * k));
      }
    }).catch((err) => { $("graph-status").textContent = "graph unavailable: " + err.message; });
  }
  function applyView() {
    const svg = $("graph").querySelector("svg");
    if (svg && view) svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
  }
  function zoomTo(x, y, w, h) { view = { x, y, w, h }; applyView(); }
  function zoom(f, cx, cy) {
    if (!view) return;
    if (cx == null) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    const w = Math.min(Math.max(view.w * f, 20), full.w * 4), k = w / view.w;
    zoomTo(cx - (cx - view.x) * k, cy - (cy - view.y) * k, w, view.h * k);
  }
  function svgPoint(ev) {
    const svg = $("graph").querySelector("svg");
    const p = svg.createSVGPoint();
    p.x = ev.clientX; p.y = ev.clientY;
    return p.matrixTransform(svg.getScreenCTM().inverse());
  }
  $("zoom-in").addEventListener("click", () => zoom(1 / 1.5));
  $("zoom-out").addEventListener("click", () => zoom(1.5));
  $("zoom-fit").addEventListener("click", () => { if (full) zoomTo(full.x, full.y, full.w, full.h); });
  $("graph").addEventListener("wheel", (ev) => {
    if (!view) return;
    ev.preventDefault();
    const p = svgPoint(ev);
    zoom(ev.deltaY > 0 ? 1.2 : 1 / 1.2, p.x, p.y);
  }, { passive: false });
  let drag = null;
  $("graph").addEventListener("pointerdown", (ev) => {
    if (!view) return;
    drag = { x: ev.clientX, y: ev.clientY, v: Object.assign({}, view) };
    $("graph").classList.add("dragging");
  });
  window.addEventListener("pointerup", () => { drag = null; $("graph").classList.remove("dragging"); });
  window.addEventListener("pointermove", (ev) => {
    if (!drag) return;
    const box = $("graph").getBoundingClientRect();
    const k = Math.max(drag.v.w / box.width, drag.v.h / box.height);
    zoomTo(drag.v.x - (ev.clientX - drag.x) * k, drag.v.y - (ev.clientY - drag.y) * k, drag.v.w, drag.v.h);
  });
  $("find").addEventListener("change", () => {
    const id = $("find").value.trim();
    const i = run ? run.shards.findIndex((s) => s.id === id) : -1;
    if (i >= 0) select(i, true);
  });

  function select(i, centre) {
    const old = selected;
    selected = i;
    if (old >= 0) { rows[old].tr.classList.remove("sel"); paintShard(old); }
    rows[i].tr.classList.add("sel");
    paintShard(i);
    if (centre && rows[i].node && view) {
      const b = rows[i].node.getBBox();
      const w = Math.min(view.w, 600), h = view.h * w / view.w;
      zoomTo(b.x + b.width / 2 - w / 2, b.y + b.height / 2 - h / 2, w, h);
    }
  }
  function details(i) {
    const s = run.shards[i], d = $("details");
    d.hidden = false;
    d.textContent = "";
    d.append(el("b", {}, s.id), " · job " + s.job + " · class " + s.class + (s.replanned ? " (re-planned from " + s.planned_class + ")" : "") +
      " · " + s.display + (s.attempt ? " · attempt " + s.attempt : "") + (s.node ? " · node " + s.node : "") +
      " · predicted " + fmt(s.predicted_seconds) + " · actual " + fmt(actual(s)) + " ");
    if (s.alloc) d.append(el("a", { href: s.alloc_url, target: "_blank", rel: "noopener" }, "allocation " + s.alloc.slice(0, 8) + " in Nomad"));
    if (s.upstream && s.upstream.length) d.append(" · after " + s.upstream.join(", "));
    if (s.reason) d.append(el("div", {}, s.reason));
  }

  // ---- Gantt chart ----
  function buildGantt() {
    const box = $("gantt");
    box.textContent = "";
    const n = run.shards.length;
    const rowH = n > 300 ? 5 : n > 60 ? 10 : 18, labelW = n > 60 ? 0 : 160, width = Math.max(box.clientWidth - 4, 600);
    const svg = sel("svg", { width: String(width), height: String(24 + n * rowH), id: "gantt-svg" });
    const order = run.shards.map((s, i) => i).sort((a, b) => run.shards[a].predicted_start_seconds - run.shards[b].predicted_start_seconds || a - b);
    ganttScale = { width, rowH, labelW, axis: sel("g", {}), svg, order, now: sel("line", { class: "now", y1: "20", y2: String(24 + n * rowH) }),
      makespan: sel("line", { class: "makespan", y1: "20", y2: String(24 + n * rowH) }) };
    svg.append(ganttScale.axis);
    order.forEach((i, k) => {
      const y = 24 + k * rowH, s = run.shards[i];
      const g = sel("g", { "data-i": String(i) });
      const t = sel("title", {}); t.textContent = s.id;
      g.append(t);
      const pred = sel("rect", { class: "pred", y: String(y + 0.5), height: String(Math.max(rowH - 1, 1)) });
      const act = sel("rect", { class: "act", y: String(y + (rowH > 6 ? 2 : 0.5)), height: String(Math.max(rowH - (rowH > 6 ? 4 : 1), 1)) });
      g.append(pred, act);
      if (labelW) { const lb = sel("text", { class: "label", x: "2", y: String(y + rowH - 5) }); lb.textContent = s.id; g.append(lb); }
      g.addEventListener("click", () => select(i, true));
      svg.append(g);
      rows[i].gantt = { g, pred, act };
    });
    svg.append(ganttScale.makespan, ganttScale.now);
    box.append(svg);
  }
  function redraw() {
    if (!run || !ganttScale) return;
    dirty = false;
    const g = ganttScale, now = nowSeconds();
    let span = Math.max(run.predicted_makespan_seconds, now, 1);
    for (const s of run.shards) {
      span = Math.max(span, s.predicted_finish_seconds || 0, s.finish_seconds || 0);
    }
    const x = (t) => g.labelW + (t / span) * (g.width - g.labelW - 8);
    g.axis.textContent = "";
    const step = niceStep(span / 8);
    for (let t = 0; t <= span + 1e-9; t += step) {
      g.axis.append(sel("line", { class: "tick", x1: String(x(t)), x2: String(x(t)), y1: "14", y2: g.svg.getAttribute("height") }));
      const lb = sel("text", { class: "axis", x: String(x(t) + 2), y: "11" }); lb.textContent = fmt(t);
      g.axis.append(lb);
    }
    for (const [line, t] of [[g.now, now], [g.makespan, run.predicted_makespan_seconds]]) {
      line.setAttribute("x1", String(x(t))); line.setAttribute("x2", String(x(t)));
    }
    run.shards.forEach((s, i) => {
      const r = rows[i].gantt;
      if (!r) return;
      r.g.style.display = visible(i) ? "" : "none";
      r.g.setAttribute("class", "st-" + s.display);
      r.pred.setAttribute("x", String(x(s.predicted_start_seconds)));
      r.pred.setAttribute("width", String(Math.max(x(s.predicted_finish_seconds) - x(s.predicted_start_seconds), 1)));
      const a = actual(s);
      if (s.start_seconds == null || a == null) { r.act.setAttribute("width", "0"); r.act.setAttribute("x", "0"); return; }
      r.act.setAttribute("x", String(x(s.start_seconds)));
      r.act.setAttribute("width", String(Math.max(x(s.start_seconds + a) - x(s.start_seconds), 1)));
      if (s.state === "running") rows[i].cells.act.textContent = fmt(a);
    });
    $("elapsed").textContent = fmt(now);
    drawClasses(now);
  }
  function niceStep(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-3))));
    for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
    return 10 * p;
  }

  // ---- classes ----
  function drawClasses(now) {
    const by = new Map();
    for (const c of run.classes) by.set(c.class, { class: c.class, instances: c.instances, shards: 0, running: 0, busy: 0, pred: c.predicted_busy_seconds });
    for (const s of run.shards) {
      if (!by.has(s.class)) by.set(s.class, { class: s.class, instances: 0, shards: 0, running: 0, busy: 0, pred: 0 });
      const c = by.get(s.class);
      c.shards++;
      if (s.state === "running") c.running++;
      const a = actual(s);
      if (a != null) c.busy += a;
    }
    const tbody = $("classes").tBodies[0];
    tbody.textContent = "";
    for (const c of by.values()) {
      const util = c.instances > 0 && now > 0 ? c.busy / (c.instances * now) : 0;
      const now_ = c.instances > 0 ? c.running / c.instances : 0;
      const tr = el("tr", { "data-class": c.class });
      tr.append(el("td", {}, c.class), el("td", {}, String(c.instances || "–")), el("td", {}, String(c.shards)));
      const running = el("td", {}); running.append(bar(now_), c.running + " / " + (c.instances || "–"));
      const utd = el("td", {}); utd.append(bar(util), (100 * util).toFixed(0) + "%");
      tr.append(running, utd, el("td", {}, fmt(c.busy) + " / " + fmt(c.pred)));
      tbody.append(tr);
    }
  }
  function bar(f) {
    const b = el("span", { class: "bar" }), i = el("span", {});
    i.style.width = Math.min(100, Math.max(0, 100 * f)).toFixed(1) + "%";
    b.append(i);
    return b;
  }

  // ---- live stream ----
  function connect() {
    es = new EventSource("events");
    es.addEventListener("run", (ev) => setRun(JSON.parse(ev.data), false));
    es.addEventListener("end", (ev) => setRun(JSON.parse(ev.data), true));
    es.addEventListener("shard", (ev) => {
      const e = JSON.parse(ev.data);
      if (!run) return;
      run.shards[e.i] = e.shard;
      paintShard(e.i);
      setCounts(e.counts);
    });
    es.onerror = () => { if (run && !run.ended) setState("reconnecting"); };
  }
  setInterval(() => { if (run && (!run.ended || dirty)) redraw(); }, 1000);
  let pendingFrame = false;
  const scheduleRedraw = () => { if (!pendingFrame) { pendingFrame = true; requestAnimationFrame(() => { pendingFrame = false; if (dirty) redraw(); }); } };
  document.addEventListener("visibilitychange", scheduleRedraw);
  setInterval(scheduleRedraw, 250);
  connect();
})();
