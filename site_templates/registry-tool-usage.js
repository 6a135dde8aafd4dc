/* A version's page: copy buttons on the usage snippets, and the filter of its files.
   Offline and without a server: the clipboard API where the page may use it, else the
   snippet selected and copied the old way (still selected, for Ctrl+C). */
(function () {
  "use strict";

  function selectText(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copied(button, ok) {
    button.textContent = ok ? "Copied" : "Selected: press Ctrl+C";
    window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }

  function fallback(button, code) {
    selectText(code);
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    copied(button, ok);
  }

  document.querySelectorAll(".rt-snippet-box").forEach(function (box) {
    var button = box.querySelector(".rt-copy");
    var code = box.querySelector("pre code");
    if (!button || !code) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = code.textContent;
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { copied(button, true); },
          function () { fallback(button, code); }
        );
      } else {
        fallback(button, code);
      }
    });
  });

  /* Shown or not by style: the theme's own display rules outrank the hidden attribute. */
  function show(node, on) { node.style.display = on ? "" : "none"; }

  document.querySelectorAll(".rt-files-box").forEach(function (box) {
    var tools = box.querySelector(".rt-files-tools");
    var input = box.querySelector(".rt-files-filter");
    var shown = box.querySelector(".rt-files-shown");
    var rows = box.querySelectorAll("table.rt-files tbody tr");
    if (!tools || !input) return;
    tools.hidden = false;
    /* A file's path: its folder's, then its name (the first cell). */
    rows.forEach(function (row) {
      var folder = row.closest("details.rt-folder");
      var prefix = folder ? folder.getAttribute("data-folder") + "/" : "";
      row.setAttribute("data-path", prefix + row.cells[0].textContent);
    });
    function apply() {
      var query = input.value.trim().toLowerCase();
      var count = 0;
      rows.forEach(function (row) {
        var hit = !query || row.getAttribute("data-path").toLowerCase().indexOf(query) !== -1;
        row.setAttribute("data-hit", hit ? "1" : "0");
        show(row, hit);
        if (hit) count += 1;
      });
      box.querySelectorAll("table.rt-files").forEach(function (table) {
        show(table, !!table.querySelector("tr[data-hit='1']"));
      });
      box.querySelectorAll("details.rt-folder").forEach(function (folder) {
        var any = folder.querySelector("tr[data-hit='1']");
        show(folder, !!any);
        if (query && any) folder.open = true;
      });
      if (shown) shown.textContent = query ? count + " of " + rows.length + " files" : "";
    }
    input.addEventListener("input", apply);
    if (input.value) apply();
  });
})();
