// Every anonmap page's filters and permalinks (anonmap.reporting.page): inline, nothing fetched.
// The table is table.matrix: a header cell per platform (data-p), a tbody per behaviour (its
// id the behaviour's), rows tr.r (id behaviour/case; class d when the row differs), cells in
// platform order, one cell spanning several where they agree. Filters read form#tools and
// live in the URL's query, so a filtered view is a link too; #behaviour/case@platform names
// a cell.
"use strict";
(() => {
  const table = document.querySelector("table.matrix");
  const form = document.getElementById("tools");
  if (!table || !form) return;
  const heads = [...table.tHead.rows[0].cells].slice(1);
  const columns = heads.map((th) => th.dataset.p);
  const rows = [...table.querySelectorAll("tr.r")];
  const shown = form.querySelector("output");

  // Tooltips many cells share are written once (anonmap.reporting.page.Tips).
  const tips = document.getElementById("tips");
  const texts = tips ? JSON.parse(tips.textContent) : [];
  for (const cell of table.querySelectorAll("td[data-t]")) cell.title = texts[+cell.dataset.t];

  // Each cell learns the first column it covers; one platform's cell gets its permalink id.
  for (const row of rows) {
    let at = 0;
    for (const cell of [...row.cells].slice(1)) {
      cell.dataset.c = at;
      cell.dataset.n = cell.colSpan;
      if (cell.colSpan === 1) cell.id = `${row.id}@${columns[at]}`;
      at += cell.colSpan;
    }
  }

  // An id, or behaviour/case@platform where that platform's cell spans others.
  const find = (id) => {
    const found = document.getElementById(id);
    if (found || !id.includes("@")) return found;
    const cut = id.lastIndexOf("@");
    // Before the @, a row's id or a case's (the anchor in the row that holds it).
    const named = document.getElementById(id.slice(0, cut));
    const row = named && named.tagName !== "TR" ? named.closest("tr") : named;
    const column = columns.indexOf(id.slice(cut + 1));
    if (!row || column < 0) return row;
    return [...row.cells].slice(1).find((c) => +c.dataset.c <= column && column < +c.dataset.c + +c.dataset.n) || row;
  };
  const mark = () => {
    for (const old of table.querySelectorAll(".target")) old.classList.remove("target");
    if (!location.hash) return;
    let found = find(decodeURIComponent(location.hash.slice(1)));
    if (!found) return;
    if (found.tagName === "SPAN") found = found.closest("tr");
    if (found.tagName === "TBODY") found = found.rows[0];
    found.classList.add("target");
    const cell = found.tagName === "TD";
    found.scrollIntoView({ block: cell ? "center" : "start", inline: cell ? "center" : "nearest" });
  };

  const apply = (write) => {
    const data = new FormData(form);
    const q = String(data.get("q") || "").trim().toLowerCase();
    const b = String(data.get("b") || "");
    const v = String(data.get("v") || "");
    const kinds = v.split(" "); // a verdict may have several colours (a pass: how it compares)
    const d = data.get("d") === "1";
    const picked = new Set(data.getAll("p"));
    const all = picked.size === 0 || picked.size === columns.length;
    const visible = columns.map((p) => all || picked.has(p));
    heads.forEach((th, i) => (th.hidden = !visible[i]));
    let count = 0;
    for (const body of table.tBodies) {
      let any = false;
      for (const row of body.rows) {
        if (!row.classList.contains("r")) continue;
        const cells = [...row.cells].slice(1);
        for (const cell of cells) {
          // A cell spanning platforms spans the ones still shown, or hides with them.
          const from = +cell.dataset.c;
          const span = visible.slice(from, from + +cell.dataset.n).filter(Boolean).length;
          cell.hidden = span === 0;
          if (span) cell.colSpan = span;
        }
        let on = (!b || body.id === b) && (!d || row.classList.contains("d"));
        if (on && v) on = cells.some((cell) => !cell.hidden && kinds.some((k) => cell.classList.contains(k)));
        if (on && q) on = `${row.id} ${row.textContent}`.toLowerCase().includes(q);
        row.hidden = !on;
        any = any || on;
        count += on ? 1 : 0;
      }
      body.hidden = !any;
    }
    if (shown) shown.textContent = `${count} of ${rows.length} rows`;
    if (!write) return;
    const query = new URLSearchParams();
    if (q) query.set("q", q);
    if (b) query.set("b", b);
    if (v) query.set("v", v);
    if (d) query.set("d", "1");
    if (!all) query.set("p", [...picked].join(" "));
    const text = query.toString();
    try {
      history.replaceState(null, "", `${location.pathname}${text ? `?${text}` : ""}${location.hash}`);
    } catch (error) {
      // A page opened from a file may not rewrite its own URL in every browser: filters still work.
    }
  };

  // The query a link carries sets the form first.
  const query = new URLSearchParams(location.search);
  for (const name of ["q", "b", "v"]) if (query.has(name)) form.elements[name].value = query.get(name);
  if (query.get("d") === "1") form.elements.d.checked = true;
  if (query.has("p")) {
    const wanted = new Set(query.get("p").split(" "));
    for (const box of form.querySelectorAll("input[name=p]")) box.checked = wanted.has(box.value);
  }
  form.addEventListener("input", () => apply(true));
  form.addEventListener("submit", (event) => event.preventDefault());
  table.addEventListener("click", (event) => {
    const cell = event.target.closest("td");
    const row = cell && cell.closest("tr.r");
    if (!row || event.target.closest("a, details")) return;
    location.hash = cell.id || row.id;
  });
  window.addEventListener("hashchange", mark);
  apply(false);
  mark();
  document.documentElement.dataset.ready = "1";
})();
