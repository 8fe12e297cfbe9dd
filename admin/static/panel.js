// What Flask-Admin's templates did with inline handlers (onclick="…"), which the CSP
// refuses: listeners on the document, so they also cover rows added later.
(function () {
  "use strict";

  document.addEventListener(
    "click",
    function (event) {
      var link = event.target.closest("a[href]");
      // Flask-Admin's "javascript:void(0)" links (tabs, pagers, dropdown toggles): the
      // CSP would block following them and report it; they have nowhere to go.
      if (link && /^\s*javascript:/i.test(link.getAttribute("href"))) {
        event.preventDefault();
      }
    },
    true
  );

  document.addEventListener("click", function (event) {
    // A list's "With selected" actions: actions.js checks a row is selected, asks the
    // action's confirmation and posts the hidden action form.
    var action = event.target.closest("[data-model-action]");
    if (action) {
      event.preventDefault();
      if (window.modelActions) {
        window.modelActions.execute(action.getAttribute("data-model-action"));
      }
      return;
    }
    // "Add filter" entries: bs4_filters.js adds the filter; the link goes nowhere.
    if (event.target.closest(".field-filters a.filter")) {
      event.preventDefault();
      return;
    }
    // Delete buttons (and anything else that asks first).
    var asking = event.target.closest("[data-confirm]");
    if (asking && !window.confirm(asking.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
