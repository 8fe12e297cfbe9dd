// Keyboard shortcuts (listed in the panel's help panel, "?"): "/" search, "g t" Today,
// "g c" calendar, "g m" conversations, "n" new booking (the calendar's booking form, the
// one a free time opens). Ignored while typing in a box and with Ctrl, Alt or Meta held,
// so the browser's own shortcuts still work.
(function () {
  "use strict";

  var help = document.getElementById("shortcuts-help");
  var search = document.getElementById("global-search-q");
  if (!help) {
    return;
  }
  var pendingG = false;
  var gTimer = null;

  function typing(target) {
    return (
      target.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)
    );
  }

  function go(attribute) {
    var url = help.getAttribute(attribute);
    if (url) {
      window.location.assign(url);
    }
  }

  function showHelp() {
    if (window.jQuery && window.jQuery.fn.modal) {
      window.jQuery(help).modal("show");
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey || typing(event.target)) {
      return;
    }
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      window.clearTimeout(gTimer);
      var targets = { t: "data-go-t", c: "data-go-c", m: "data-go-m" };
      if (targets[key]) {
        event.preventDefault();
        go(targets[key]);
      }
      return;
    }
    if (key === "/" && search) {
      event.preventDefault();
      search.focus();
      search.select();
    } else if (key === "?") {
      event.preventDefault();
      showHelp();
    } else if (key === "g") {
      pendingG = true;
      gTimer = window.setTimeout(function () {
        pendingG = false;
      }, 1500);
    } else if (key === "n") {
      event.preventDefault();
      go("data-new");
    }
  });
})();
