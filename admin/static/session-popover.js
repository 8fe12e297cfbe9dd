// The calendar's session popover: clicking a session fetches its summary and actions
// (the session page's own partial, /admin/appointment/session/<id>/actions) and shows
// them beside it. The buttons post as on the session page and come back to this
// calendar page. Without this script the link opens the session page.
(function () {
  "use strict";

  var open = null;

  function close() {
    if (open) {
      open.remove();
      open = null;
    }
  }

  function show(link, html) {
    close();
    var box = document.createElement("div");
    box.className = "session-popover";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", link.getAttribute("title") || "Session");
    var shut = document.createElement("button");
    shut.type = "button";
    shut.className = "close";
    shut.setAttribute("aria-label", "Close");
    shut.textContent = "\u00d7";
    shut.addEventListener("click", close);
    box.appendChild(shut);
    var body = document.createElement("div");
    body.innerHTML = html; // the panel's own server-rendered (autoescaped) partial
    box.appendChild(body);
    document.body.appendChild(box);
    var where = link.getBoundingClientRect();
    var left = Math.min(
      window.scrollX + where.left,
      window.scrollX + document.documentElement.clientWidth - box.offsetWidth - 8
    );
    box.style.left = Math.max(8, left) + "px";
    box.style.top = window.scrollY + where.bottom + 4 + "px";
    open = box;
    var first = box.querySelector("button[type=submit], a[href]");
    if (first) {
      first.focus();
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-session-actions]");
    if (!link) {
      if (open && !open.contains(event.target)) {
        close();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
      return; // a new tab gets the session page
    }
    event.preventDefault();
    var back = window.location.pathname + window.location.search;
    var url = link.getAttribute("data-session-actions") + "?back=" + encodeURIComponent(back);
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        show(link, html);
      })
      .catch(function () {
        window.location.href = link.href; // the page says what went wrong
      });
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      close();
    }
  });
})();
