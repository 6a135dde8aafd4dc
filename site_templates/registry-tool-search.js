/* The site's own search box, for pages opened from file://: there the theme's search
   cannot start its worker, so this box reads search/search_index.js (a script that
   assigns a global, which a file:// page may load) and filters it in the page.
   Served over HTTP the theme's search is used and this box stays out of the way.
   Every title and text is set with textContent: registry text is never parsed as HTML. */
(function () {
  "use strict";
  var GLOBAL = "__rtSearchIndex";
  var SHOWN = 10;
  var configNode = document.getElementById("__config");
  if (!configNode || location.protocol !== "file:") return;
  var base = new URL(JSON.parse(configNode.textContent).base + "/", location.href);
  var docs = null;
  var split = /[\s\-/:.]+/;
  var loading = false;
  var pending = null;

  function load(then) {
    if (docs) return then();
    pending = then;
    if (loading) return;
    loading = true;
    var script = document.createElement("script");
    script.src = new URL("search/search_index.js", base).href;
    script.onload = function () {
      var index = window[GLOBAL] || { docs: [] };
      try { split = new RegExp(index.separator); } catch (e) { /* keep the default */ }
      docs = index.docs.map(function (d) {
        return { href: d[0], title: d[1], text: d[2],
                 words: d[1].toLowerCase().split(split).filter(Boolean),
                 lower: (d[1] + " " + d[2]).toLowerCase() };
      });
      if (pending) pending();
    };
    document.head.appendChild(script);
  }

  function search(query) {
    var terms = query.toLowerCase().split(split).filter(Boolean);
    if (!terms.length) return [];
    var whole = query.trim().toLowerCase();
    var found = [];
    docs.forEach(function (doc) {
      var score = 0;
      for (var i = 0; i < terms.length; i++) {
        var t = terms[i], best = 0;
        for (var j = 0; j < doc.words.length; j++) {
          if (doc.words[j] === t) { best = 15; break; }
          if (doc.words[j].indexOf(t) === 0) best = Math.max(best, 10);
        }
        if (!best && doc.lower.indexOf(t) >= 0) best = 1;
        if (!best) return;
        score += best;
      }
      if (doc.title.toLowerCase().indexOf(whole) >= 0) score += 50;
      if (doc.href.indexOf("#") < 0) score += 2;
      found.push([score, doc]);
    });
    found.sort(function (a, b) {
      return b[0] - a[0] || a[1].title.length - b[1].title.length;
    });
    return found.slice(0, SHOWN).map(function (f) { return f[1]; });
  }

  function snippet(text, query) {
    var at = text.toLowerCase().indexOf(query.toLowerCase().split(split).filter(Boolean)[0] || "");
    var start = Math.max(0, at - 40);
    var cut = text.slice(start, start + 160);
    return (start > 0 ? "… " : "") + cut + (start + 160 < text.length ? " …" : "");
  }

  var form = document.createElement("form");
  form.className = "rt-search";
  form.setAttribute("role", "search");
  var input = document.createElement("input");
  input.type = "search";
  input.className = "rt-search__input";
  input.placeholder = "Search";
  input.setAttribute("aria-label", "Search artifacts, versions and runs");
  input.autocomplete = "off";
  var list = document.createElement("ol");
  list.className = "rt-search__results";
  list.hidden = true;
  var status = document.createElement("p");
  status.className = "rt-search__status";
  status.setAttribute("aria-live", "polite");
  status.hidden = true;
  form.appendChild(input);
  form.appendChild(status);
  form.appendChild(list);

  function show() {
    var query = input.value;
    list.textContent = "";
    if (!query.trim()) { list.hidden = status.hidden = true; return; }
    load(function () {
      if (input.value !== query) return;
      var results = search(query);
      status.hidden = false;
      status.textContent = results.length ? results.length + (results.length === SHOWN ? "+" : "") + " found" : "Nothing found";
      results.forEach(function (doc) {
        var item = document.createElement("li");
        var link = document.createElement("a");
        link.className = "rt-search__result";
        link.href = new URL(doc.href, base).href;
        var title = document.createElement("span");
        title.className = "rt-search__title";
        title.textContent = doc.title;
        var text = document.createElement("span");
        text.className = "rt-search__text";
        text.textContent = snippet(doc.text, query);
        link.appendChild(title);
        link.appendChild(text);
        item.appendChild(link);
        list.appendChild(item);
      });
      list.hidden = !results.length;
    });
  }

  input.addEventListener("input", show);
  input.addEventListener("focus", function () { load(function () {}); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var first = list.querySelector("a");
    if (first) location.href = first.href;
  });
  form.addEventListener("keydown", function (event) {
    var links = Array.prototype.slice.call(list.querySelectorAll("a"));
    var at = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && links.length) {
      event.preventDefault();
      links[Math.min(at + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && at >= 0) {
      event.preventDefault();
      (at === 0 ? input : links[at - 1]).focus();
    } else if (event.key === "Escape") {
      input.value = "";
      show();
      input.blur();
    }
  });
  document.addEventListener("click", function (event) {
    if (!form.contains(event.target)) { list.hidden = status.hidden = true; }
  });
  input.addEventListener("focus", function () { if (input.value.trim()) show(); });
  window.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      event.stopImmediatePropagation();
      input.focus();
    }
  }, true);

  document.documentElement.classList.add("rt-offline");
  var header = document.querySelector(".md-header__inner");
  var before = header && header.querySelector(".md-search");
  if (header) header.insertBefore(form, before || null);
  else document.body.insertBefore(form, document.body.firstChild);
})();
