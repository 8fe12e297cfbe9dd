// The menu's alerts badge: chats waiting for a person and reschedule requests awaiting a
// decision. The page comes with the counts; this asks /admin/alerts/ again every ~20 s
// (short polling: gunicorn's sync workers would hold a worker per tab for server-sent
// events) and not while the tab is hidden. When the count rises, the title says so.
(function () {
  "use strict";

  var menu = document.getElementById("panel-menu");
  if (!menu || !window.fetch) {
    return;
  }
  var url = menu.getAttribute("data-alerts-url");
  var every = (parseInt(menu.getAttribute("data-poll-seconds"), 10) || 20) * 1000;
  var title = document.title;
  var timer = null;

  function shown() {
    var total = 0;
    menu.querySelectorAll(".alert-badge").forEach(function (badge) {
      if (badge.getAttribute("data-alert-for").indexOf(" ") === -1) {
        total += parseInt(badge.textContent, 10) || 0;
      }
    });
    return total;
  }

  var seen = shown();

  function update(counts) {
    menu.querySelectorAll(".alert-badge").forEach(function (badge) {
      var n = 0;
      badge.getAttribute("data-alert-for").split(" ").forEach(function (endpoint) {
        n += counts[endpoint] || 0;
      });
      badge.textContent = String(n);
      // The words come with the page, in the panel's language ("{n} waiting").
      badge.setAttribute("aria-label", (badge.dataset.label || "{n} waiting").replace("{n}", n));
      badge.classList.toggle("d-none", n === 0);
    });
    var total = counts.total || 0;
    if (total > seen) {
      document.title = "(" + total + ") " + title;
    } else if (total === 0) {
      document.title = title;
    }
    seen = total;
  }

  function poll() {
    timer = null;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (counts) {
        if (counts) {
          update(counts);
        }
      })
      .catch(function () {})
      .then(schedule);
  }

  function schedule() {
    if (timer === null && !document.hidden) {
      timer = window.setTimeout(poll, every);
    }
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) {
      if (timer !== null) {
        window.clearTimeout(timer);
        timer = null;
      }
    } else if (timer === null) {
      poll(); // back on the tab: catch up at once
    }
  });
  schedule();
})();
