// Patient search as you type, for the booking forms: a box filters the patient list by
// name, guardian or phone (digits anywhere in the number, however they are spaced) and
// lists the matches to pick from. Nothing is submitted, so a required field elsewhere in
// the form cannot get in the way, and no patient's name or number goes into a URL.
(function () {
  "use strict";

  var MAX_SHOWN = 8;

  function digits(text) {
    return text.replace(/\D/g, "");
  }

  function matches(option, words, number) {
    var label = option.text.toLowerCase();
    if (number.length >= 3 && digits(option.text).indexOf(number) !== -1) {
      return true;
    }
    return words.length > 0 && words.every(function (word) {
      return label.indexOf(word) !== -1;
    });
  }

  function searchBox(select) {
    var named = select.getAttribute("data-patient-search");
    var box = named ? document.getElementById(named) : null;
    if (box) {
      return box;
    }
    // The appointment form has no box of its own: add one above the list.
    var group = document.createElement("div");
    group.className = "form-group";
    var label = document.createElement("label");
    label.textContent = "Find a patient";
    box = document.createElement("input");
    box.type = "search";
    box.className = "form-control";
    box.id = select.id + "-search";
    box.placeholder = "Name, guardian or phone";
    box.autocomplete = "off";
    label.htmlFor = box.id;
    group.appendChild(label);
    group.appendChild(box);
    var field = select.closest(".form-group") || select;
    field.parentNode.insertBefore(group, field);
    return box;
  }

  function attach(select) {
    var box = searchBox(select);
    var list = document.createElement("div");
    list.className = "list-group patient-matches mt-1";
    list.setAttribute("aria-label", "Matching patients");
    var status = document.createElement("small");
    status.className = "form-text text-muted patient-search-status";
    status.setAttribute("aria-live", "polite");
    // Below the box's row (the calendar form's box sits in an input group with "Find").
    (box.closest(".input-group") || box).insertAdjacentElement("afterend", status);
    status.insertAdjacentElement("afterend", list);

    function pick(option) {
      select.value = option.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      list.textContent = "";
      status.textContent = "Chosen: " + option.text;
    }

    function show() {
      var query = box.value.trim().toLowerCase();
      list.textContent = "";
      status.textContent = "";
      if (!query) {
        return;
      }
      var words = query.split(/\s+/).filter(function (w) {
        return /\D/.test(w);
      });
      var found = Array.prototype.filter.call(select.options, function (option) {
        return option.value && option.value !== "__None" && matches(option, words, digits(query));
      });
      found.slice(0, MAX_SHOWN).forEach(function (option) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "list-group-item list-group-item-action py-1";
        button.textContent = option.text;
        button.addEventListener("click", function () {
          pick(option);
        });
        list.appendChild(button);
      });
      if (!found.length) {
        status.textContent = select.hasAttribute("data-more")
          ? "No match among the patients listed: press Find to search them all."
          : "No patient matches.";
      } else if (found.length > MAX_SHOWN) {
        status.textContent = found.length + " match: keep typing to narrow.";
      }
    }

    box.addEventListener("input", show);
    box.addEventListener("keydown", function (event) {
      // Enter picks the only match instead of submitting the form half-filled.
      if (event.key === "Enter" && list.children.length === 1) {
        event.preventDefault();
        list.children[0].click();
      }
    });
  }

  document.querySelectorAll("select[data-patient-search]").forEach(attach);
})();
