/* graphfraud workbench page: queue, case view, workflow. Every text from the server is put in
   with textContent (never as HTML), except the timeline SVG, which the server builds with its
   texts escaped. Talks only to its own origin. */
(function () {
  "use strict";
  const app = document.getElementById("app");
  const S = { me: null, T: {}, queue: null, sort: { key: "score", dir: -1 }, case: null };
  window.gfWorkbench = S;
  S.open = (id, run) => showCase(id, run);

  function T(key, params) {
    let s = S.T[key] || key;
    for (const [k, v] of Object.entries(params || {})) s = s.split("{" + k + "}").join(String(v));
    return s;
  }
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid !== null && kid !== undefined) e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    return e;
  }
  async function api(path, opts) {
    opts = opts || {};
    const headers = { "Accept": "application/json" };
    let body = opts.body;
    if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(opts.json); }
    if ((opts.method || "GET") !== "GET") headers["X-CSRF-Token"] = S.me ? S.me.csrf : "";
    const r = await fetch(path, { method: opts.method || "GET", headers, body, credentials: "same-origin" });
    if (r.status === 401) { location.href = "/login"; throw new Error("login"); }
    const data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  }
  function flash(text, bad) {
    const f = document.getElementById("flash");
    if (!f) return;
    f.textContent = text; f.className = bad ? "flash bad" : "flash";
  }
  function statusName(s) { return T("status." + s); }

  // ------------------------------------------------------------------ header
  function header() {
    const other = S.me.lang === "zh" ? "en" : "zh";
    return el("header", {},
      el("h1", { text: T("title") }),
      el("span", { class: "who", id: "who", text: S.me.user + " · " + S.me.role }),
      el("a", { href: "/?lang=" + other, id: "lang" }, other === "en" ? "English" : "中文"),
      el("button", { id: "logout", onclick: async () => { await api("/logout", { method: "POST" }); location.href = "/login"; } }, T("logout")),
      el("div", { id: "flash", class: "flash", role: "status" }));
  }

  // ------------------------------------------------------------------ queue
  const COLS = [["id", "col.id"], ["kind_name", "col.kind"], ["score", "col.score"], ["members", "col.members"],
    ["claims", "col.claims"], ["total", "col.total"], ["fund", "col.fund"], ["account", "col.account"],
    ["self", "col.self"], ["over_threshold", "col.over"], ["first_date", "col.dates"], ["region", "col.region"],
    ["facility", "col.facility"], ["status", "col.status"], ["assignee", "col.assignee"], ["deadline", "col.deadline"]];
  const NUMERIC = new Set(["score", "members", "claims", "total", "fund", "account", "self"]);

  async function showQueue(runId) {
    app.replaceChildren(header(), el("p", { text: T("loading") }));
    const [runs, q] = await Promise.all([api("/api/runs"), api("/api/queue" + (runId ? "?run=" + encodeURIComponent(runId) : ""))]);
    S.queue = q; S.runs = runs;
    const f = { kind: el("select", { id: "f-kind" }, el("option", { value: "", text: T("all") })),
      status: el("select", { id: "f-status" }, el("option", { value: "", text: T("all") })),
      assignee: el("select", { id: "f-assignee" }, el("option", { value: "", text: T("all") })),
      score: el("input", { id: "f-score", type: "number", min: "0", max: "100", step: "1", placeholder: T("min_score") }),
      amount: el("input", { id: "f-amount", type: "number", min: "0", step: "1", placeholder: T("min_amount") }),
      from: el("input", { id: "f-from", type: "date" }), to: el("input", { id: "f-to", type: "date" }),
      text: el("input", { id: "f-text", type: "search", placeholder: T("filter_text") }) };
    const kinds = [...new Map(q.rows.map(r => [r.kind, r.kind_name])).entries()];
    for (const [k, name] of kinds) f.kind.append(el("option", { value: k, text: name }));
    for (const s of S.me.statuses) f.status.append(el("option", { value: s, text: statusName(s) }));
    for (const u of S.me.users) f.assignee.append(el("option", { value: u, text: u }));
    const run = el("select", { id: "f-run", onchange: e => showQueue(e.target.value) });
    for (const r of runs) run.append(el("option", { value: r.run_id, text: r.run_id, selected: r.run_id === q.run_id }));
    const table = el("table", { id: "queue", class: "grid" });
    const count = el("span", { id: "queue-count" });
    const render = () => {
      const rows = q.rows.filter(r =>
        (!f.kind.value || r.kind === f.kind.value) && (!f.status.value || r.status === f.status.value) &&
        (!f.assignee.value || r.assignee === f.assignee.value) &&
        (!f.score.value || (r.score || 0) >= Number(f.score.value)) &&
        (!f.amount.value || Number(r.total) >= Number(f.amount.value)) &&
        (!f.from.value || (r.last_date || "") >= f.from.value) && (!f.to.value || (r.first_date || "") <= f.to.value) &&
        (!f.text.value || [r.id, r.facility, r.region, r.entity, r.text].some(v => v && String(v).toLowerCase().includes(f.text.value.toLowerCase()))));
      const { key, dir } = S.sort;
      rows.sort((a, b) => {
        let x = a[key], y = b[key];
        if (NUMERIC.has(key)) { x = Number(x || 0); y = Number(y || 0); }
        else { x = x === null || x === undefined ? "" : String(x); y = y === null || y === undefined ? "" : String(y); }
        return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.id < b.id ? -1 : 1);
      });
      const head = el("tr", {}, ...COLS.map(([k, label]) => el("th", { "data-key": k, class: k === key ? (dir > 0 ? "asc" : "desc") : null,
        onclick: () => { S.sort = { key: k, dir: S.sort.key === k ? -S.sort.dir : (NUMERIC.has(k) ? -1 : 1) }; render(); } }, T(label))));
      const body = rows.map(r => el("tr", { class: "row " + r.case_type, "data-id": r.id, onclick: () => showCase(r.id, q.run_id) },
        el("td", {}, el("a", { href: "#", class: "case-link", text: r.id })),
        el("td", { text: r.kind_name + (r.case_type === "lead" ? "" : "") }),
        el("td", { class: "num", text: r.score === null ? "" : r.score.toFixed(1) }),
        el("td", { class: "num", text: r.members }), el("td", { class: "num", text: r.claims }),
        el("td", { class: "num", text: r.total }), el("td", { class: "num", text: r.fund }),
        el("td", { class: "num", text: r.account }), el("td", { class: "num", text: r.self }),
        el("td", { text: r.over_threshold ? "✔" : "" }),
        el("td", { text: (r.first_date || "") + " ~ " + (r.last_date || "") }),
        el("td", { text: r.region || "" }), el("td", { text: r.facility || "" }),
        el("td", {}, el("span", { class: "status s-" + r.status, text: statusName(r.status) }),
          r.grew_after_dismissal ? el("span", { class: "grew", text: " " + T("grew") }) : null),
        el("td", { text: r.assignee || "" }), el("td", { text: r.deadline || "" })));
      table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
      count.textContent = T("rows", { n: rows.length });
    };
    for (const input of Object.values(f)) input.addEventListener("input", render);
    const seedOut = el("div", { id: "confirmed-expand" });
    const seedButton = el("button", { id: "expand-confirmed", onclick: async () => {
      seedOut.textContent = T("loading");
      try {
        const r = await api("/api/confirmed-expand" + (q.run_id ? "?run=" + encodeURIComponent(q.run_id) : ""));
        const cols = ["card_id", "significance", "days", "expected", "seeds_met", "path_text"];
        seedOut.replaceChildren(el("p", { text: T("seeds", { n: r.seeds.length, m: r.candidates.length }) }),
          el("table", { class: "grid", id: "candidates" }, el("thead", {}, el("tr", {}, ...cols.map(k => el("th", { text: T("cand." + k) })))),
            el("tbody", {}, ...r.candidates.map(c => el("tr", {}, ...cols.map(k => el("td", { text: c[k] })))))));
      } catch (err) { seedOut.textContent = T("error", { error: err.message }); }
    } }, T("expand_confirmed"));
    app.replaceChildren(header(), el("main", {},
      el("h2", { text: T("queue") }),
      el("div", { class: "filters" }, el("label", {}, T("run"), " ", run), el("label", {}, T("col.kind"), " ", f.kind),
        el("label", {}, T("col.status"), " ", f.status), el("label", {}, T("col.assignee"), " ", f.assignee), f.score, f.amount,
        el("label", {}, T("from"), " ", f.from), el("label", {}, T("to"), " ", f.to), f.text, count),
      el("div", { class: "scroll" }, table), el("div", { class: "panel" }, seedButton, seedOut)));
    render();
  }

  // ------------------------------------------------------------------ case
  function tip(text) {
    const div = document.createElement("div");
    div.className = "gf-tip";
    div.textContent = text;  // text, never HTML
    return div;
  }
  function nodeStyle(n) {
    const v = { id: n.id, label: n.label, title: tip(n.title || n.label), shape: n.shape, x: n.x, y: n.y,
      color: { background: n.color, border: n.member ? "#111111" : n.color, highlight: { background: n.color, border: "#000" } },
      borderWidth: n.member ? 3 : 1, font: { size: n.font || 14, face: "Noto Sans CJK SC, Noto Sans SC, sans-serif", strokeWidth: 3, strokeColor: "#fff" },
      size: n.size || 11 };
    if (n.type === "group") { v.shape = "box"; v.font = { size: n.font || 14, color: "#fff", face: v.font.face }; }
    return v;
  }
  function edgeStyle(e) {
    return { id: e.id, from: e.from, to: e.to, width: Math.min(1 + Math.sqrt(e.n_claims || 1), 6),
      color: { color: e.color, opacity: 0.75 }, arrows: { to: { enabled: true, scaleFactor: 0.4 } },
      title: tip((e.type_name || e.type) + " · " + (e.n_claims || 0) + " · " + (e.amount || "")) };
  }

  async function showCase(caseId, runId) {
    S.openedAt = performance.now();
    app.replaceChildren(header(), el("p", { text: T("loading") }));
    let c;
    try {
      c = await api("/api/case/" + encodeURIComponent(caseId) + (runId ? "?run=" + encodeURIComponent(runId) : ""));
    } catch (err) {
      app.replaceChildren(header(), el("main", {}, el("p", { class: "flash bad", role: "alert", text: T("error", { error: err.message }) }),
        el("p", {}, el("a", { href: "/", id: "back" }, "← " + T("back")))));
      return;
    }
    const st = S.case = { c, nodes: new Map(), edges: new Map(), groups: c.groups, hidden: new Set(), pinned: new Set(),
      expanded: [], range: null, days: [], selected: [] };
    for (const n of c.nodes) st.nodes.set(n.id, n);
    for (const e of c.edges) st.edges.set(e.id, e);
    const saved = c.case && c.case.view;
    const container = el("div", { id: "graph", class: "graph" });
    const info = el("div", { id: "graph-info", class: "muted", text: T("expand_hint") });
    const more = el("div", { id: "more", class: "muted" });
    const pathOut = el("div", { id: "paths" });
    const tools = el("div", { class: "tools" },
      el("button", { id: "find-path", onclick: () => findPaths(pathOut) }, T("find_path")),
      el("button", { id: "pin", onclick: () => { for (const id of st.network.getSelectedNodes()) togglePin(id); } }, T("pin")),
      el("button", { id: "hide", onclick: () => { for (const id of st.network.getSelectedNodes()) st.hidden.add(id); redraw(); } }, T("hide")),
      el("button", { id: "show-all", onclick: () => { st.hidden.clear(); redraw(); } }, T("show_all")),
      el("button", { id: "save-view", onclick: saveView }, T("save_view")));
    // the time bar
    const days = [...new Set(c.claims.map(x => x.day).filter(Boolean))].sort();
    st.days = days;
    const lo = el("input", { id: "time-from", type: "range", min: "0", max: String(Math.max(days.length - 1, 0)), value: "0", step: "1" });
    const hi = el("input", { id: "time-to", type: "range", min: "0", max: String(Math.max(days.length - 1, 0)), value: String(Math.max(days.length - 1, 0)), step: "1" });
    const rangeText = el("span", { id: "time-range" });
    const shown = el("span", { id: "time-shown" });
    const claimsTable = el("table", { id: "claims", class: "grid" });
    const onRange = () => {
      let a = Number(lo.value), b = Number(hi.value);
      if (a > b) { [a, b] = [b, a]; }
      st.range = days.length ? [days[a], days[b]] : null;
      rangeText.textContent = st.range ? st.range[0] + " ~ " + st.range[1] : "";
      redraw();
    };
    lo.addEventListener("input", onRange); hi.addEventListener("input", onRange);

    const caseBox = el("section", { id: "case-panel", class: "panel" });
    const facts = el("table", { class: "facts" },
      ...[["col.kind", c.kind_name], ["col.score", c.score === null || c.score === undefined ? "" : Number(c.score).toFixed(1)],
        ["col.members", c.members], ["col.claims", c.totals.claims], ["col.total", c.totals.total], ["col.fund", c.totals.fund],
        ["col.account", c.totals.account], ["col.self", c.totals.self]].map(([k, v]) => el("tr", {}, el("th", { text: T(k) }), el("td", { text: v }))));
    const timeline = el("div", { class: "timeline" });
    timeline.innerHTML = c.timeline;  // built by the server, texts escaped there
    app.replaceChildren(header(), el("main", { class: "case" },
      el("p", {}, el("a", { href: "#", id: "back", onclick: (e) => { e.preventDefault(); showQueue(c.run_id); } }, "← " + T("back"))),
      el("h2", { id: "case-title", text: c.title }),
      el("div", { class: "case-grid" },
        el("div", {}, tools, container, info, more, pathOut,
          el("div", { class: "timebar" }, el("strong", { text: T("timebar") + " " }), lo, hi, rangeText, " ", shown)),
        el("div", {}, facts, el("h3", { text: T("reasons") }), el("ul", { id: "reasons" }, ...c.reasons.map(r => el("li", { text: r }))), caseBox)),
      el("h3", { text: T("timeline") }), timeline,
      el("h3", { text: T("claims") }), el("div", { class: "scroll" }, claimsTable)));
    renderCasePanel(caseBox, c.case);

    st.dsNodes = new vis.DataSet(); st.dsEdges = new vis.DataSet();
    st.network = new vis.Network(container, { nodes: st.dsNodes, edges: st.dsEdges }, {
      physics: { enabled: false }, interaction: { multiselect: true, hover: true, tooltipDelay: 150 },
      edges: { smooth: false }, layout: { improvedLayout: false } });
    st.network.on("doubleClick", (p) => { if (p.nodes.length) expand(p.nodes[0], more); });
    st.network.on("click", (p) => {
      if (p.nodes.length === 1 && st.groups[p.nodes[0]]) openGroup(p.nodes[0]);
      st.selected = st.network.getSelectedNodes();
    });
    st.network.on("dragEnd", (p) => { for (const id of p.nodes) { const n = st.nodes.get(id); const pos = st.network.getPositions([id])[id]; n.x = pos.x; n.y = pos.y; } });
    if (saved) {
      for (const id of saved.hidden || []) st.hidden.add(id);
      for (const id of saved.pinned || []) st.pinned.add(id);
      for (const [id, xy] of Object.entries(saved.positions || {})) { const n = st.nodes.get(id); if (n) { n.x = xy[0]; n.y = xy[1]; } }
    }
    function claimVisible(x) { return !st.range || (x.day >= st.range[0] && x.day <= st.range[1]); }
    function edgeVisible(e) {
      if (st.hidden.has(e.from) || st.hidden.has(e.to)) return false;
      if (!st.range || !e.days || !e.days.length) return true;
      return e.days.some(d => d >= st.range[0] && d <= st.range[1]);
    }
    function redraw() {
      const nodes = [...st.nodes.values()].filter(n => !st.hidden.has(n.id)).map(n => ({ ...nodeStyle(n), fixed: st.pinned.has(n.id), borderWidth: st.pinned.has(n.id) ? 4 : nodeStyle(n).borderWidth }));
      const edges = [...st.edges.values()].filter(edgeVisible).map(edgeStyle);
      st.dsNodes.clear(); st.dsEdges.clear(); st.dsNodes.add(nodes); st.dsEdges.add(edges);
      const claims = c.claims.filter(claimVisible);
      st.visibleEdges = edges.length; st.visibleClaims = claims.length;
      shown.textContent = T("shown", { edges: edges.length, claims: claims.length });
      const cols = ["claim_id", "settled_at", "card_id", "facility_id", "doctor_id", "claim_type", "total", "fund", "account", "self"];
      claimsTable.replaceChildren(el("thead", {}, el("tr", {}, ...cols.map(k => el("th", { text: k })))),
        el("tbody", {}, ...claims.slice(0, 2000).map(x => el("tr", {}, ...cols.map(k => el("td", { text: x[k] === null ? "" : x[k] }))))));
    }
    function togglePin(id) { if (st.pinned.has(id)) st.pinned.delete(id); else st.pinned.add(id); redraw(); }
    function openGroup(gid) {
      const grp = st.groups[gid]; const centre = st.nodes.get(gid);
      st.nodes.delete(gid);
      for (const [id, e] of st.edges) if (e.from === gid || e.to === gid) st.edges.delete(id);
      grp.nodes.forEach((n, i) => {
        const a = 2 * Math.PI * i / grp.nodes.length, r = 60 + 14 * grp.nodes.length;
        st.nodes.set(n.id, { ...n, x: centre.x + r * Math.cos(a), y: centre.y + r * Math.sin(a) });
      });
      for (const e of grp.edges) st.edges.set(e.id, e);
      delete st.groups[gid];
      redraw();
    }
    async function expand(id, out) {
      const n = st.nodes.get(id);
      if (!n || !n.expandable) return;
      try {
        const r = await api("/api/expand?node=" + encodeURIComponent(id) + "&case=" + encodeURIComponent(caseId));
        const all = st.network.getPositions();
        const centre = all[id];
        const fresh = r.nodes.filter(m => !st.nodes.has(m.id));
        // beyond everything drawn, on the side of the expanded node, one label width apart
        const pts = Object.values(all);
        const cx = pts.reduce((a, p) => a + p.x, 0) / pts.length, cy = pts.reduce((a, p) => a + p.y, 0) / pts.length;
        const rmax = Math.max(...pts.map(p => Math.hypot(p.x - cx, p.y - cy)), 0);
        const gap = 140, R = Math.max(rmax + 160, fresh.length * gap / (2 * Math.PI));
        const a0 = Math.atan2(centre.y - cy, centre.x - cx);
        fresh.forEach((m, i) => {
          const a = a0 + (i - (fresh.length - 1) / 2) * gap / R;
          const rr = R + 70 * (i % 2);
          st.nodes.set(m.id, { ...m, x: cx + rr * Math.cos(a), y: cy + rr * Math.sin(a), member: false });
        });
        for (const e of r.edges) if (st.nodes.has(e.from) && st.nodes.has(e.to)) st.edges.set(e.id, e);
        for (const [g, grp] of Object.entries(r.groups || {})) { if (!st.groups[g] && !st.nodes.has(g)) { /* drugs stay out of an expansion */ } }
        st.expanded.push(id);
        out.textContent = r.more ? T("more", { n: r.more }) : "";
        redraw();
      } catch (err) { flash(T("error", { error: err.message }), true); }
    }
    async function findPaths(out) {
      const sel = st.network.getSelectedNodes();
      if (sel.length !== 2) { out.textContent = T("select_two"); return; }
      try {
        const r = await api("/api/path", { method: "POST", json: { case: caseId, from: sel[0], to: sel[1],
          nodes: [...st.nodes.keys()], edges: [...st.edges.values()].map(e => [e.from, e.to]) } });
        for (const m of r.added.nodes) if (!st.nodes.has(m.id)) st.nodes.set(m.id, { ...m, x: (m.x || 0), y: (m.y || 0) });
        for (const e of r.added.edges) st.edges.set(e.id, e);
        redraw();
        const onPath = new Set(r.paths.flat());
        st.network.selectNodes([...onPath]);
        st.paths = r.paths;
        out.replaceChildren(el("strong", { text: r.paths.length ? T("paths", { n: r.paths.length }) : T("no_path") }),
          el("ol", {}, ...r.paths.map(p => el("li", { class: "path", text: p.map(id => (st.nodes.get(id) || { label: id }).label).join(" → ") }))));
      } catch (err) { flash(T("error", { error: err.message }), true); }
    }
    async function saveView() {
      const positions = {};
      const pos = st.network.getPositions();
      for (const [id, p] of Object.entries(pos)) positions[id] = [p.x, p.y];
      await api("/api/case/" + encodeURIComponent(caseId) + "/view", { method: "POST", json: { view: {
        pinned: [...st.pinned], hidden: [...st.hidden], expanded: st.expanded, positions, range: st.range || [] } } });
      flash(T("saved"));
    }
    st.redraw = redraw;
    st.network.once("afterDrawing", () => { st.drawnAt = performance.now(); st.interactiveMs = st.drawnAt - S.openedAt; });
    redraw();
    st.network.fit();
    st.ready = true;
  }

  function renderCasePanel(box, k) {
    const caseId = S.case.c.case_id;
    const may = r => S.me.rights.includes(r);
    const next = (S.me.transitions[k.status] || []).filter(s => s !== "transferred" || may("case.transfer"));
    const status = el("select", { id: "status" }, el("option", { value: "", text: "—" }), ...next.map(s => el("option", { value: s, text: statusName(s) })));
    const assignee = el("select", { id: "assignee" }, el("option", { value: "", text: "—" }), ...S.me.users.map(u => el("option", { value: u, text: u, selected: u === k.assignee })));
    const note = el("textarea", { id: "note", rows: "3", placeholder: T("note") });
    const file = el("input", { id: "attach-file", type: "file" });
    const exportOut = el("div", { id: "export-result", class: "muted" });
    const apply = async () => {
      try {
        const after = await api("/api/case/" + encodeURIComponent(caseId) + "/status", { method: "POST",
          json: { status: status.value || null, note: note.value || null, assignee: assignee.value } });
        renderCasePanel(box, after); flash(T("saved"));
      } catch (err) { flash(T("error", { error: err.message }), true); }
    };
    const doExport = async (reveal) => {
      try {
        const r = await api("/api/case/" + encodeURIComponent(caseId) + "/export", { method: "POST", json: { reveal, run: S.case.c.run_id } });
        const after = await api("/api/case/" + encodeURIComponent(caseId) + (S.case.c.run_id ? "?run=" + encodeURIComponent(S.case.c.run_id) : ""));
        renderCasePanel(box, after.case);  // its attachments now list the package
        box.querySelector("#export-result").textContent = T("exported", { zip: r.zip, sha: r.manifest_sha256, seq: r.audit_seq });
      } catch (err) { flash(T("error", { error: err.message }), true); }
    };
    const deadlines = Object.entries(k.deadlines || {}).map(([name, d]) => el("li", { class: d.working_days_left < 0 ? "overdue" : null },
      T("deadline." + name) + " " + d.date + " · " + (d.working_days_left < 0 ? T("overdue", { n: -d.working_days_left }) : T("days_left", { n: d.working_days_left }))));
    box.replaceChildren(
      el("h3", { text: T("case") + " · " }, el("span", { id: "case-status", class: "status s-" + k.status, text: statusName(k.status) })),
      el("ul", { id: "deadlines" }, ...deadlines),
      may("case.update") ? el("div", { class: "workflow" },
        el("label", {}, T("change_status"), " ", status), el("label", {}, T("assign"), " ", assignee), note,
        el("button", { id: "apply", onclick: apply }, T("apply")),
        el("div", {}, file, el("button", { id: "attach", onclick: async () => {
          if (!file.files.length) return;
          const fd = new FormData(); fd.append("file", file.files[0]);
          try { renderCasePanel(box, await api("/api/case/" + encodeURIComponent(caseId) + "/attachment", { method: "POST", body: fd })); }
          catch (err) { flash(T("error", { error: err.message }), true); }
        } }, T("attach")))) : null,
      may("case.export") ? el("div", { class: "export" }, el("button", { id: "export", onclick: () => doExport(false) }, T("export")),
        may("case.reveal") ? el("button", { id: "export-reveal", onclick: () => doExport(true) }, T("export_reveal")) : null, exportOut) : null,
      may("case.extend") && !k.extended ? el("button", { id: "extend", onclick: async () => renderCasePanel(box, await api("/api/case/" + encodeURIComponent(caseId) + "/extend", { method: "POST" })) }, T("extend")) : null,
      el("h4", { text: T("history") }),
      el("ol", { id: "history" }, ...(k.history || []).map(h => el("li", {},
        el("span", { class: "muted", text: h.time + " " + h.username + " " }),
        el("span", { text: h.action === "status" ? statusName(h.status_from) + " → " + statusName(h.status_to) : h.action }),
        h.note ? el("div", { class: "note", text: h.note }) : null))),
      el("h4", { text: T("attachments") }),
      el("ul", { id: "attachments" }, ...(k.attachments || []).map(a => el("li", { text: a.name + " · " + a.size + " B · SHA-256 " + a.sha256 }))));
  }

  async function start() {
    S.me = await api("/api/me");
    S.T = S.me.texts;
    document.title = T("title");
    await showQueue(null);
  }
  start().catch(err => { if (err.message !== "login") app.replaceChildren(el("p", { class: "flash bad", text: String(err.message) })); });
})();
