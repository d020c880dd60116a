/* Sort and filter the report's decision table in the page (MolTwin, MIT-style project code; no library).
 *
 * Headers with data-sort="num" or "text" get a button; a click sorts the rows by that column
 * (again: the other way), missing values last, ties kept in rank order. A cell's sort key is its
 * data-v attribute, else its text. The filter form narrows the rows by text (id or SMILES),
 * decision, stage, lowest p(clear) and measured / predicted activity; the count of shown rows
 * is kept in #table-count. Rows are only reordered and hidden, never rebuilt.
 */
(function () {
  "use strict";
  var table = document.getElementById("decision-table");
  if (!table || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  rows.forEach(function (row, i) { row.dataset.order = String(i); });

  function key(row, column, numeric) {
    var cell = row.cells[column];
    var value = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
    if (value === "" || value === "\u2013") { return null; }
    if (numeric) {
      var number = parseFloat(value);
      return isNaN(number) ? null : number;
    }
    return value.toLowerCase();
  }

  function sortBy(th, column) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var numeric = th.dataset.sort === "num";
    var keyed = rows.map(function (row) { return [key(row, column, numeric), +row.dataset.order, row]; });
    keyed.sort(function (a, b) {
      if (a[0] === null || b[0] === null) {
        if (a[0] === null && b[0] === null) { return a[1] - b[1]; }
        return a[0] === null ? 1 : -1;  // missing values last, whichever the direction
      }
      if (a[0] < b[0]) { return ascending ? -1 : 1; }
      if (a[0] > b[0]) { return ascending ? 1 : -1; }
      return a[1] - b[1];
    });
    rows = keyed.map(function (k) { return k[2]; });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) { fragment.appendChild(row); });
    body.appendChild(fragment);
  }

  heads.forEach(function (th, column) {
    if (!th.dataset.sort) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    button.title = "Sort by this column (click again to reverse)";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    th.appendChild(button);
    button.addEventListener("click", function () { sortBy(th, column); });
  });

  var form = document.getElementById("table-filters");
  var count = document.getElementById("table-count");
  if (!form) { return; }
  function value(id) { var el = document.getElementById(id); return el ? el.value : ""; }
  function apply() {
    var text = value("filter-text").trim().toLowerCase();
    var decision = value("filter-decision");
    var stage = value("filter-stage");
    var minClear = parseFloat(value("filter-pclear"));
    var source = value("filter-source");
    var shown = 0;
    rows.forEach(function (row) {
      var pClear = parseFloat(row.dataset.pclear);
      var ok = (!text || row.dataset.search.indexOf(text) !== -1) &&
               (!decision || row.dataset.decision === decision) &&
               (!stage || row.dataset.stage === stage) &&
               (isNaN(minClear) || (!isNaN(pClear) && pClear >= minClear)) &&
               (!source || row.dataset.source === source);
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) { count.textContent = String(shown); }
  }
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
})();
