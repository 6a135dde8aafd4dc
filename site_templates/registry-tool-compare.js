/* A version's page compared with any other version of its collection, in the page and
   offline. A page per pair of versions would be a square of them, so the data comes
   instead as small scripts beside the pages, loaded when asked for: versions.js lists
   the collection's versions, vN-manifest.js holds a version's files (path, short
   digest), size and flattened metadata (key, shown value, id). A page opened from
   file:// may load a script but not fetch JSON, so each calls __rtCompareRegister.
   What is compared and shown is what the page's "Changes since" sections show, from
   the older of the two versions to the newer: the counts, every path, the metadata
   keys whose values differ. Every name, path and value is set as textContent, never
   as HTML. #compare-vN opens a comparison, so it can be linked. Without this script
   the control stays hidden and the page reads the same. */
(function () {
  "use strict";
  var box = document.querySelector(".rt-compare-any");
  if (!box || box.getAttribute("data-rt-ready")) return;
  box.setAttribute("data-rt-ready", "1");
  var self = Number(box.getAttribute("data-version"));
  var select = box.querySelector("select");
  var result = box.querySelector(".rt-compare-result");
  var registered = {};
  var loading = {};
  var MINUS = "\u2212", DASH = "\u2013", DOT = " \u00b7 ";

  window.__rtCompareRegister = function (name, data) { registered[name] = data; };

  function load(name, src) {
    if (!loading[name]) {
      loading[name] = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () {
          if (Object.prototype.hasOwnProperty.call(registered, name)) resolve(registered[name]);
          else reject(new Error(src));
        };
        script.onerror = function () { delete loading[name]; reject(new Error(src)); };
        document.head.appendChild(script);
      });
    }
    return loading[name];
  }

  function manifest(n) {
    return load("v" + n, box.getAttribute("data-manifest").replace("{n}", String(n)));
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /* Strings in code point order, as Python sorts them (the data's own order). */
  function before(a, b) {
    var i = 0;
    for (;;) {
      var x = a.codePointAt(i), y = b.codePointAt(i);
      if (x === undefined || y === undefined) return x === undefined && y !== undefined;
      if (x !== y) return x < y;
      i += x > 0xffff ? 2 : 1;
    }
  }

  /* Bytes as the site shows them (_fmt.human_size), a tie rounded to even as Python's
     format does: 1250 B is 1.2 KB. */
  function human(n) {
    var size = n, units = ["B", "KB", "MB", "GB", "TB"];
    for (var i = 0; i < units.length; i++) {
      if (size < 1000 || units[i] === "TB") {
        if (units[i] === "B") return size.toFixed(0) + " B";
        var quarters = size * 4;
        if (Number.isInteger(quarters) && quarters % 2 !== 0) {
          var low = Math.floor(size * 10);
          return ((low % 2 === 0 ? low : low + 1) / 10).toFixed(1) + " " + units[i];
        }
        return size.toFixed(1) + " " + units[i];
      }
      size /= 1000;
    }
    return n + " B";
  }

  function signed(delta) {
    return delta === 0 ? "\u00b10 B" : (delta > 0 ? "+" : MINUS) + human(Math.abs(delta));
  }

  function diff(old, now) {
    var was = new Map(old.files), is = new Map(now.files);
    var found = {
      added: now.files.filter(function (f) { return !was.has(f[0]); }),
      removed: old.files.filter(function (f) { return !is.has(f[0]); }),
      changed: now.files.filter(function (f) { return was.has(f[0]) && was.get(f[0]) !== f[1]; })
    };
    var metadata = [], a = old.metadata, b = now.metadata, i = 0, j = 0;
    while (i < a.length || j < b.length) {  /* the two sorted key lists merged */
      if (j >= b.length || (i < a.length && before(a[i][0], b[j][0]))) {
        metadata.push([a[i][0], a[i][1], DASH]); i++;
      } else if (i >= a.length || before(b[j][0], a[i][0])) {
        metadata.push([b[j][0], DASH, b[j][1]]); j++;
      } else {
        if (a[i][2] !== b[j][2]) metadata.push([a[i][0], a[i][1], b[j][1]]);
        i++; j++;
      }
    }
    return { found: found, metadata: metadata, size: signed(now.size - old.size) };
  }

  function counts(d) {
    var p = el("p", "rt-diff-counts");
    [["rt-added", "files added", "+", "added"], ["rt-removed", "files removed", MINUS, "removed"],
     ["rt-changed", "files changed", "~", "changed"]].forEach(function (c, i) {
      var span = el("span", c[0], c[2] + d.found[c[3]].length);
      span.title = c[1];
      if (i) p.appendChild(document.createTextNode(" "));
      p.appendChild(span);
    });
    var n = d.metadata.length;
    p.appendChild(document.createTextNode(" files" + DOT + "size " + d.size +
      (n ? DOT + n + " metadata " + (n === 1 ? "key" : "keys") + " changed" : "")));
    return p;
  }

  function show(old, now) {
    var d = diff(old, now);
    var heading = "Changes from v" + old.version + " to v" + now.version;
    result.textContent = "";
    result.appendChild(el("h3", null, heading));
    result.appendChild(counts(d));
    [["added", "Added"], ["removed", "Removed"], ["changed", "Changed"]].forEach(function (k) {
      var files = d.found[k[0]];
      if (!files.length) return;
      var details = el("details", "rt-diff-list");
      details.appendChild(el("summary", null, k[1] + " (" + files.length + ")"));
      var list = el("ul"), items = document.createDocumentFragment();
      files.forEach(function (f) {
        var item = el("li");
        item.appendChild(el("code", null, f[0]));
        items.appendChild(item);
      });
      list.appendChild(items);
      details.appendChild(list);
      result.appendChild(details);
    });
    if (d.metadata.length) {
      var table = el("table", "rt-diff"), head = el("tr"), body = el("tbody");
      ["Metadata key", "v" + old.version, "v" + now.version].forEach(function (t) {
        head.appendChild(el("th", null, t));
      });
      table.appendChild(el("thead")).appendChild(head);
      d.metadata.forEach(function (m) {
        var row = el("tr");
        row.appendChild(el("th", null, m[0]));
        row.appendChild(el("td", null, m[1]));
        row.appendChild(el("td", null, m[2]));
        body.appendChild(row);
      });
      table.appendChild(body);
      result.appendChild(table);
    }
  }

  function choose(value, linked) {
    if (!value) { result.textContent = ""; return; }
    var other = Number(value);
    if (!linked && window.history && history.replaceState) {
      try { history.replaceState(null, "", "#compare-v" + other); } catch (e) { /* file:// may refuse */ }
    }
    result.textContent = "";
    result.appendChild(el("p", "rt-note", "Loading v" + other + "\u2026"));
    Promise.all([manifest(self), manifest(other)]).then(function (both) {
      if (select.value !== value) return;  /* another choice came since */
      var mine = both[0], theirs = both[1];
      if (theirs.version < mine.version) show(theirs, mine); else show(mine, theirs);
      if (linked) box.scrollIntoView();
    }, function (error) {
      if (select.value !== value) return;
      result.textContent = "";
      result.appendChild(el("p", "rt-cut", "The data of this comparison could not be loaded (" +
        error.message + ")."));
    });
  }

  function fromHash() {
    var found = /^#compare-v(\d+)$/.exec(location.hash);
    if (!found || found[1] === String(self)) return;
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === found[1]; });
    if (!known) return;
    select.value = found[1];
    choose(found[1], true);
  }

  load("versions", box.getAttribute("data-list")).then(function (list) {
    list.versions.forEach(function (v) {
      if (v[0] === self) return;
      select.appendChild(el("option", null, "v" + v[0] + (v[1] ? " (" + v[1] + ")" : ""))).value = String(v[0]);
    });
    if (select.options.length < 2) return;  /* no other version to compare with */
    box.hidden = false;
    select.addEventListener("change", function () { choose(select.value, false); });
    window.addEventListener("hashchange", fromHash);
    fromHash();
  }, function () { /* no list: the control stays hidden */ });
})();
