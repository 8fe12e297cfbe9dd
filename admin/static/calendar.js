// The calendar page: EventCalendar (vendor/event-calendar) reads the sessions and free
// times from the page's JSON feeds. Clicking a session opens its page; clicking a free
// time opens the booking form filled in; dragging a session asks the server to move it
// (the reschedule service decides), dragging its end to change its length (the same
// guarantees), and a refusal puts it back with the reason shown.
// Times are the clinic's wall clock without an offset ("floating"), so the page shows
// clinic time whatever zone the browser is in.
(function () {
  "use strict";

  var element = document.getElementById("calendar");
  var setupBlock = document.getElementById("calendar-setup");
  if (!element || !setupBlock || !window.EventCalendar) {
    return;
  }
  var setup = JSON.parse(setupBlock.textContent);
  var message = document.querySelector(".cal-message");
  var pageViews = {}; // EventCalendar's view name -> the page's ?view=
  setup.views.forEach(function (pair) {
    pageViews[pair[1]] = pair[0];
  });
  // On a phone a column per therapist does not fit: the day opens as a list (?view=list,
  // which the server reads as "day"), unless the address asks for a view.
  var asked = new URLSearchParams(window.location.search).get("view");
  var phone = window.matchMedia("(max-width: 600px)").matches;
  pageViews.listDay = "list";
  if (phone) {
    setup.views.unshift(["list", "listDay"]);
  }
  if (asked === "list" || (phone && !asked)) {
    setup.view = "listDay";
  }

  // The board's words in the panel's language (admin.i18n.calendar_words), English if absent.
  var words = setup.words || {};
  function word(key, english) {
    return words[key] || english;
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function wallDate(d) {
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  function wallTime(d) {
    return wallDate(d) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":00";
  }

  function say(text, kind) {
    if (!message) {
      return;
    }
    message.className = "alert cal-message alert-" + kind;
    message.textContent = text;
  }

  function freeAt(date, resourceId) {
    var time = date.getTime();
    return calendar.getEvents().filter(function (event) {
      return (
        event.display === "background" &&
        event.extendedProps.book &&
        event.start.getTime() <= time &&
        time < event.end.getTime() &&
        (!resourceId || event.resourceIds.map(String).indexOf(String(resourceId)) !== -1)
      );
    })[0];
  }

  function remember(view) {
    // The page's address keeps the view and day, with the filters already in it.
    var params = new URLSearchParams(window.location.search);
    params.set("view", pageViews[view.type] || "day");
    params.set("date", wallDate(view.currentStart));
    window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
    document.querySelectorAll(".cal-picker input[name=view]").forEach(function (input) {
      input.value = params.get("view");
    });
    document.querySelectorAll(".cal-picker input[name=date]").forEach(function (input) {
      input.value = params.get("date");
    });
    var sheet = document.querySelector(".cal-sheet-link");
    if (sheet) {
      var url = new URL(sheet.href, window.location.href);
      url.searchParams.set("date", params.get("date"));
      sheet.href = url.pathname + url.search;
    }
  }

  // Ask the server to move a session or change its length; a refusal (409, with the
  // service's reason) puts it back where it was.
  function send(info, base, fields, busy, failed) {
    var body = new URLSearchParams();
    body.set("csrf_token", element.getAttribute("data-csrf"));
    Object.keys(fields).forEach(function (key) {
      body.set(key, fields[key]);
    });
    var url = base.replace(/\/0$/, "/" + encodeURIComponent(info.event.id));
    say(busy, "info");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": element.getAttribute("data-csrf") },
      body: body,
    })
      .then(function (response) {
        return response.json().then(
          function (answer) {
            return answer;
          },
          function () {
            return { ok: false, message: failed + " (" + response.status + ")." };
          }
        );
      })
      .then(function (answer) {
        if (answer.ok) {
          say(answer.message, "success");
          calendar.refetchEvents();
        } else {
          info.revert();
          say(answer.message, "danger");
        }
      })
      .catch(function () {
        info.revert();
        say(failed + ": " + word("noAnswer", "no answer from the server."), "danger");
      });
  }

  function move(info) {
    var fields = { start: wallTime(info.event.start) };
    if (info.newResource) {
      fields.therapist = info.newResource.id;
    }
    send(
      info,
      setup.move,
      fields,
      word("moving", "Moving…"),
      word("notMoved", "The session could not be moved")
    );
  }

  function resize(info) {
    send(
      info,
      setup.resize,
      { end: wallTime(info.event.end) },
      word("resizing", "Changing its length…"),
      word("notResized", "The session's length could not be changed")
    );
  }

  function fetchJson(base, info, extra) {
    var url = new URL(base, window.location.href);
    url.searchParams.set("start", info.startStr);
    url.searchParams.set("end", info.endStr);
    Object.keys(extra || {}).forEach(function (key) {
      url.searchParams.set(key, extra[key]);
    });
    return fetch(url.pathname + url.search, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) {
        throw new Error("the calendar could not be loaded (" + r.status + ")");
      }
      return r.json();
    });
  }

  // A day's columns are the therapists who work at the location; someone booked there
  // without weekly hours (extra hours, or who has since left) gets a column too, so
  // none of the day's sessions is hidden.
  var resources = setup.resources.slice();
  function withColumns(events) {
    var known = {};
    resources.forEach(function (resource) {
      known[resource.id] = true;
    });
    var added = false;
    events.forEach(function (event) {
      (event.resourceIds || []).forEach(function (id) {
        if (!known[id]) {
          known[id] = true;
          added = true;
          resources.push({ id: id, title: event.extendedProps.therapist });
        }
      });
    });
    if (added) {
      calendar.setOption("resources", resources.slice());
    }
    return events;
  }

  var sources = [
    {
      events: function (info) {
        return fetchJson(setup.events, info).then(withColumns);
      },
    },
  ];
  if (setup.free) {
    sources.push({
      events: function (info) {
        return fetchJson(setup.free, info, { back: setup.back });
      },
    });
  }

  var calendar = window.EventCalendar.create(element, {
    view: setup.view,
    date: setup.date,
    firstDay: 1,
    height: "auto",
    headerToolbar: {
      start: "prev,next today",
      center: "title",
      end: setup.views
        .map(function (pair) {
          return pair[1];
        })
        .join(","),
    },
    buttonText: {
      today: word("today", "Today"),
      listDay: word("list", "List"),
      resourceTimeGridDay: word("day", "Day"),
      timeGridWeek: word("week", "Week"),
      dayGridMonth: word("month", "Month"),
    },
    locale: setup.locale || "en",
    resources: setup.resources,
    eventSources: sources,
    slotDuration: { minutes: setup.step },
    scrollTime: "08:00:00",
    slotMinTime: "07:00:00",
    slotMaxTime: "21:00:00",
    flexibleSlotTimeLimits: true, // a session outside those hours still shows
    nowIndicator: true,
    allDaySlot: false,
    editable: Boolean(setup.move),
    eventStartEditable: Boolean(setup.move),
    eventDurationEditable: Boolean(setup.resize), // each session says too (the feed)
    // A session is a link to its page; with session-popover.js on the page, a click on
    // it opens the session's actions beside it instead (the calendar's table did the same).
    eventContent: function (info) {
      var props = info.event.extendedProps;
      if (info.event.display === "background" || !props.url) {
        return undefined;
      }
      var link = document.createElement("a");
      link.className = "cal-event";
      link.href = props.url;
      link.title = props.number;
      link.draggable = false; // the calendar's own drag moves it, not the browser's
      if (props.actions) {
        link.setAttribute("data-session-actions", props.actions);
      }
      var time = document.createElement("span");
      time.className = "ec-event-time";
      time.textContent = info.timeText;
      var title = document.createElement("span");
      title.className = "ec-event-title";
      title.textContent = info.event.title;
      link.appendChild(time);
      link.appendChild(title);
      return { domNodes: [link] };
    },
    dateClick: function (info) {
      if (info.view.type === "dayGridMonth") {
        // A day of the month opens that day, a column per therapist.
        calendar.setOption("date", info.date);
        calendar.setOption("view", "resourceTimeGridDay");
        return;
      }
      var free = freeAt(info.date, info.resource && info.resource.id);
      if (free) {
        window.location.assign(free.extendedProps.book);
      }
    },
    eventDidMount: function (info) {
      var props = info.event.extendedProps;
      if (info.event.display === "background") {
        info.el.setAttribute("title", word("free", "Free:") + " " + props.services.join(", "));
        return;
      }
      info.el.setAttribute(
        "title",
        props.number + " · " + props.patient + " · " + props.service + " · " +
          props.therapist + " · " + props.status + " · " + props.payment
      );
      info.el.setAttribute("data-appointment", info.event.id);
    },
    eventDrop: move,
    eventResize: resize,
    datesSet: function (info) {
      remember(info.view);
    },
  });
})();
