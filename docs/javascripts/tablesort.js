// Sortable tables, without a CDN: click a header of a table inside <div class="sortable"> to sort by that
// column; click again to reverse. Numbers sort numerically ("25,557,032", "4.09 G", "0.21 ms"), a dash last.
(function () {
  "use strict";
  var SCALE = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

  function key(cell) {
    var text = (cell.textContent || "").trim();
    if (/^\d+(x\d+)+$/.test(text)) { // a shape such as 1x64x56x56: by number of elements
      return { num: text.split("x").reduce(function (p, d) { return p * +d; }, 1), text: text };
    }
    var m = text.replace(/,/g, "").match(/^([-+]?\d*\.?\d+(?:e[-+]?\d+)?)\s*([kKMGT])?/);
    if (m) return { num: parseFloat(m[1]) * (SCALE[m[2]] || 1), text: text };
    return { num: null, text: text.toLowerCase() };
  }

  function empty(k) { return k.num === null && (k.text === "" || k.text === "\u2014"); }

  function compare(a, b, descending) {
    if (empty(a) || empty(b)) return empty(a) - empty(b); // dashes last, both ways
    var c;
    if (a.num !== null && b.num !== null) c = a.num - b.num;
    else if (a.num !== null || b.num !== null) c = a.num !== null ? -1 : 1;
    else c = a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
    return descending ? -c : c;
  }

  function sortBy(table, column, th) {
    var body = table.tBodies[0];
    var descending = th.getAttribute("aria-sort") === "ascending";
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
      return { row: row, key: key(row.cells[column] || row), i: i };
    });
    rows.sort(function (a, b) { return compare(a.key, b.key, descending) || a.i - b.i; });
    rows.forEach(function (r) { body.appendChild(r.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }

  function init(root) {
    Array.prototype.forEach.call(root.querySelectorAll(".sortable table"), function (table) {
      if (!table.tHead || table.dataset.sortable) return;
      table.dataset.sortable = "1";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, column) {
        th.tabIndex = 0;
        th.title = "Sort by this column";
        th.addEventListener("click", function () { sortBy(table, column, th); });
        th.addEventListener("keydown", function (e) {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, column, th); }
        });
      });
    });
  }

  if (window.document$ && window.document$.subscribe) {
    window.document$.subscribe(function () { init(document); }); // material's instant navigation
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
