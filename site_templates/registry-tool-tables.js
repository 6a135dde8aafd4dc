/* Sorting and filtering of the tables marked rt-sortable, offline and optional: the
   page reads the same without it. A cell's data-sort (a number, a time) is what it
   sorts by, else its text; "v12" sorts as 12. Rows are only reordered or hidden. */
(function () {
  function key(cell) {
    var text = cell ? (cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent) : "";
    text = text.trim();
    var n = Number(text.replace(/^v(?=\d)/, ""));
    return text !== "" && !isNaN(n) ? { n: n } : { s: text.toLowerCase() };
  }
  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) return a.n - b.n;
    if (a.n !== undefined) return -1;  /* numbers before text, empty cells last */
    if (b.n !== undefined) return 1;
    if (a.s === "" || b.s === "") return a.s === "" ? (b.s === "" ? 0 : 1) : -1;
    return a.s < b.s ? -1 : a.s > b.s ? 1 : 0;
  }
  function sortable(table) {
    var body = table.tBodies[0];
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "rt-sort";
      while (th.firstChild) button.appendChild(th.firstChild);
      th.appendChild(button);
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
          return { row: row, key: key(row.cells[column]), i: i };
        });
        rows.sort(function (a, b) { return (up ? 1 : -1) * compare(a.key, b.key) || a.i - b.i; });
        rows.forEach(function (r) { body.appendChild(r.row); });
      });
    });
  }
  function filterable(table) {
    var body = table.tBodies[0];
    var input = document.createElement("input");
    input.type = "search";
    input.className = "rt-filter";
    input.placeholder = "Filter rows";
    input.setAttribute("aria-label", "Filter the rows of the table below");
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(body.rows, function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
    table.parentNode.insertBefore(input, table);
  }
  document.querySelectorAll("table.rt-sortable").forEach(function (table) {
    if (table.getAttribute("data-rt-ready") || !table.tBodies[0]) return;
    table.setAttribute("data-rt-ready", "1");
    filterable(table);
    sortable(table);
  });
})();
