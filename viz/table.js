// Sortable and filterable tables, no library. A click on a header of a table.sortable sorts
// by that column (data-sort of the cells when present, numbers when the header says
// data-type="num"), a second click reverses. Inputs with data-filter="TABLE_ID" filter rows:
// a text box by contained text, a select by a cell's data-kind, a checkbox by data-over.
(function () {
  "use strict";
  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return numeric ? -Infinity : ""; }
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (numeric) { var x = parseFloat(v); return isNaN(x) ? -Infinity : x; }
    return v;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headers, function (th, index) {
      th.tabIndex = 0;
      th.classList.add("sort-header");
      function sort() {
        var numeric = th.getAttribute("data-type") === "num";
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          var c = numeric ? x - y : String(x).localeCompare(String(y), "zh-CN");
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { sort(); } });
    });
  });
  var controls = document.querySelectorAll("[data-filter]");
  function applyFilters(tableId) {
    var table = document.getElementById(tableId);
    if (!table) { return; }
    var text = "", kind = "", overOnly = false;
    document.querySelectorAll('[data-filter="' + tableId + '"]').forEach(function (c) {
      if (c.type === "checkbox") { overOnly = c.checked; }
      else if (c.tagName === "SELECT") { kind = c.value; }
      else { text = c.value.trim().toLowerCase(); }
    });
    var shown = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var ok = (!text || row.textContent.toLowerCase().indexOf(text) >= 0) &&
               (!kind || row.getAttribute("data-kind") === kind) &&
               (!overOnly || row.getAttribute("data-over") === "1");
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    var counter = document.querySelector('[data-count-for="' + tableId + '"]');
    if (counter) { counter.textContent = String(shown); }
  }
  controls.forEach(function (c) {
    var id = c.getAttribute("data-filter");
    c.addEventListener("input", function () { applyFilters(id); });
    c.addEventListener("change", function () { applyFilters(id); });
  });
})();
