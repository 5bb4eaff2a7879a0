/* Keeps the cells a page marked with data-live="kind:pk:field" current: while any row's
   status carries data-live-active, it asks that row's live route (data-live-url) about the
   active rows once a second, with the ETag of the last answer (a 304 costs no body), and
   swaps in the cells that changed. It stops once no row is active. Also: the copy buttons
   next to shortened ids. */
(function () {
  "use strict";
  var INTERVAL = 1000;
  var etags = {};
  var timer = null;

  function cellsOf(root) {
    var groups = {};
    (root || document).querySelectorAll("[data-live-url]").forEach(function (el) {
      var parts = el.getAttribute("data-live").split(":");
      var url = el.getAttribute("data-live-url");
      if (!el.hasAttribute("data-live-active")) return; // an ended row stays as it is
      var group = groups[url] || (groups[url] = { kind: parts[0], ids: {} });
      group.ids[parts[1]] = true;
    });
    return groups;
  }

  function apply(kind, rows) {
    var finished = false;
    Object.keys(rows).forEach(function (pk) {
      var row = rows[pk];
      Object.keys(row.cells).forEach(function (field) {
        document.querySelectorAll('[data-live="' + kind + ":" + pk + ":" + field + '"]').forEach(function (el) {
          // Compared as the browser writes markup, so an unchanged cell (a player being
          // listened to) is left alone.
          var fresh = document.createElement("template");
          fresh.innerHTML = row.cells[field];
          if (el.innerHTML !== fresh.innerHTML) {
            el.innerHTML = row.cells[field];
            document.dispatchEvent(new CustomEvent("recorder:updated"));
          }
          if (el.hasAttribute("data-live-url")) {
            if (el.hasAttribute("data-live-active") && !row.active) finished = true;
            el.toggleAttribute("data-live-active", row.active);
          }
        });
      });
    });
    return finished;
  }

  function refreshChart() {
    var chart = document.querySelector("figure.op-chart");
    var url = chart && chart.getAttribute("data-live-chart");
    if (!url) return;
    fetch(url + "?fresh=1", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || !data.html) return;
        var holder = document.createElement("div");
        holder.innerHTML = data.html;
        var fresh = holder.querySelector("figure.op-chart");
        if (fresh) {
          fresh.setAttribute("data-live-chart", url);
          chart.replaceWith(fresh);
        }
      });
  }

  function poll() {
    timer = null;
    var groups = cellsOf();
    var asks = Object.keys(groups);
    if (!asks.length) return; // nothing running on the page: stop asking
    Promise.all(asks.map(function (url) {
      var ids = Object.keys(groups[url].ids).join(",");
      var full = url + (url.indexOf("?") < 0 ? "?" : "&") + "ids=" + ids;
      var headers = etags[full] ? { "If-None-Match": etags[full] } : {};
      return fetch(full, { credentials: "same-origin", cache: "no-store", headers: headers })
        .then(function (r) {
          if (r.status === 304 || !r.ok) return false;
          etags[full] = r.headers.get("ETag");
          return r.json().then(function (data) {
            return apply(groups[url].kind, data.rows);
          });
        })
        .catch(function () { return false; });
    })).then(function (finished) {
      if (finished.some(Boolean)) refreshChart();
      schedule();
    });
  }

  function schedule() {
    if (timer === null && !document.hidden) timer = window.setTimeout(poll, INTERVAL);
  }

  document.addEventListener("visibilitychange", function () { if (!document.hidden) schedule(); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.op-copy");
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute("data-copy");
    var done = function () {
      button.classList.add("op-copied");
      window.setTimeout(function () { button.classList.remove("op-copied"); }, 1200);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      var box = document.createElement("textarea");
      box.value = text;
      document.body.appendChild(box);
      box.select();
      document.execCommand("copy");
      box.remove();
      done();
    }
  });

  document.addEventListener("DOMContentLoaded", schedule);
})();
