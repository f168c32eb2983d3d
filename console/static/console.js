// Staff console: the live queue and the live handoff page. Everything a visitor wrote is inserted
// with textContent, never as HTML. State-changing requests carry the CSRF token (X-CSRFToken).
(function () {
  "use strict";

  var POLL_MS = 3000;
  var csrfToken = document.querySelector('meta[name="csrf-token"]').content;
  var liveError = document.getElementById("live-error");

  function element(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) { node.setAttribute(name, attributes[name]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function showError(message) {
    if (!liveError) return;
    liveError.textContent = message || "";
    liveError.hidden = !message;
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (response) {
      if (response.status === 401) window.location.reload(); // signed out: back to the sign-in page
      if (!response.ok) throw new Error("Updating failed (" + response.status + "); retrying.");
      return response.json();
    });
  }

  function poll(update) {
    function run() {
      update().then(function () { showError(""); }, function (error) { showError(error.message); })
        .then(function () { window.setTimeout(run, POLL_MS); });
    }
    run();
  }

  // ---- live queue

  function postButton(action, label) {
    var form = element("form", { method: "post", action: action, "class": "inline" });
    form.append(element("input", { type: "hidden", name: "csrf_token", value: csrfToken }),
                element("button", { type: "submit" }, label));
    return form;
  }

  // Who is waiting: handoffs and call-backs in one list, urgent first, then the newest (as the server
  // renders it, console/views/queue.py waiting_rows).
  function waitingRows(data) {
    var rows = (data.tickets || []).map(function (ticket) { return Object.assign({ kind: "handoff" }, ticket); })
      .concat((data.callbacks || []).map(function (callback) { return Object.assign({ kind: "callback" }, callback); }));
    rows.sort(function (a, b) {
      if (a.urgent !== b.urgent) return a.urgent ? -1 : 1;
      return a.at < b.at ? 1 : a.at > b.at ? -1 : 0;
    });
    return rows;
  }

  function waitingRow(item) {
    var classes = [item.urgent ? "urgent" : "", "kind-" + item.kind];
    if (item.kind === "handoff") classes.push("status-" + item.status);
    var row = element("tr", { "class": classes.join(" ").trim() });
    var when = element("td");
    when.append(element("time", { "class": "waited", datetime: item.at, title: "since " + item.since }, item.waited),
                element("span", { "class": "since" }, " (since " + item.since + ")"));
    var what = element("td");
    if (item.urgent) what.append(element("strong", { "class": "badge badge-crisis" }, "Urgent"), " ");
    if (item.kind === "handoff") {
      what.append(item.status === "waiting" ? "Chat: waiting for a person" : "Chat: with " + item.assigned_staff);
    } else {
      what.append("Call-back " + item.reference_code);
    }
    var why = element("td", {}, item.kind === "handoff" ? item.reason : (item.topic || "Asked to be called back"));
    var language = element("td");
    if (item.language) language.append(element("span", { lang: item.language_code }, item.language));
    var action = element("td");
    if (item.kind === "callback") {
      action.append(element("a", { href: item.url }, "Open request"));
    } else {
      action.append(item.status === "waiting" ? postButton(item.take_over_url, "Take over")
                                              : element("a", { href: item.url }, "Open"));
    }
    row.append(when, what, why, language, element("td", {}, item.channel), action);
    return row;
  }

  function withoutWaited(rows) {
    return JSON.stringify(rows.map(function (item) {
      var copy = Object.assign({}, item);
      delete copy.waited;
      return copy;
    }));
  }

  // Conversations with an unreviewed crisis, at the top. Rebuilt only when the list changes (the
  // "how long ago" text is updated in place, so that keyboard focus stays where it is).
  function crisisRow(crisis) {
    var row = element("tr", { "class": "crisis" });
    var badge = element("td");
    badge.append(element("strong", { "class": "badge badge-crisis" }, "Possible crisis"));
    var when = element("td");
    when.append(element("time", { datetime: crisis.at, title: crisis.since }, crisis.ago), " (" + crisis.since + ")");
    var language = element("td");
    if (crisis.language) language.append(element("span", { lang: crisis.language_code }, crisis.language));
    var link = element("td");
    link.append(element("a", { href: crisis.url }, "Open transcript"));
    row.append(badge, element("td", {}, crisis.what), when, language, element("td", {}, crisis.channel), link);
    return row;
  }

  function withoutAgo(crises) {
    return JSON.stringify(crises.map(function (crisis) {
      return [crisis.url, crisis.what, crisis.at, crisis.language, crisis.channel];
    }));
  }

  function emptyRow(text) {
    var row = element("tr");
    row.append(element("td", { colspan: "6" }, text));
    return row;
  }

  var queueRows = document.getElementById("queue-rows");
  var crisisRows = document.getElementById("crisis-rows");
  var crisisCount = document.getElementById("crisis-count");
  var waitingCount = document.getElementById("waiting-count");
  if (queueRows) {
    var shown = null, shownCrises = null;
    poll(function () {
      return getJson(queueRows.dataset.url).then(function (data) {
        var crises = data.crises || [];
        var currentCrises = withoutAgo(crises);
        if (crisisRows && currentCrises !== shownCrises) {
          shownCrises = currentCrises;
          if (crises.length) {
            crisisRows.replaceChildren.apply(crisisRows, crises.map(crisisRow));
          } else {
            crisisRows.replaceChildren(emptyRow("No conversation with an unreviewed crisis."));
          }
          if (crisisCount) {
            crisisCount.textContent = crises.length + " conversation" + (crises.length === 1 ? "" : "s") +
              " with a possible crisis.";
          }
        } else if (crisisRows) {
          crisisRows.querySelectorAll("time").forEach(function (time, index) {
            if (crises[index]) time.textContent = crises[index].ago;
          });
        }
        var rows = waitingRows(data);
        var current = withoutWaited(rows);
        if (current !== shown) { // unchanged: keep the rows (and the keyboard focus)
          shown = current;
          if (rows.length) {
            queueRows.replaceChildren.apply(queueRows, rows.map(waitingRow));
          } else {
            queueRows.replaceChildren(emptyRow("Nobody is waiting."));
          }
          if (waitingCount) waitingCount.textContent = rows.length + " waiting.";
        } else { // the wait times, updated in place
          queueRows.querySelectorAll("time.waited").forEach(function (time, index) {
            if (rows[index]) time.textContent = rows[index].waited;
          });
        }
        var waiting = data.tickets.filter(function (ticket) { return ticket.status === "waiting"; }).length;
        var callbacks = (data.callbacks || []).length;
        var urgent = rows.filter(function (item) { return item.urgent; }).length;
        var counts = [];
        if (crises.length) counts.push(crises.length + " crisis");
        if (urgent) counts.push(urgent + " urgent");
        if (waiting) counts.push(waiting + " waiting");
        if (callbacks) counts.push(callbacks + " call-back" + (callbacks === 1 ? "" : "s"));
        document.title = (counts.length ? "(" + counts.join(", ") + ") " : "") + "Live queue – Staff console";
      });
    });
  }

  // ---- live handoff

  function messageItem(message) {
    var who = { visitor: "Visitor", bot: "Assistant", staff: message.author + " (staff)" }[message.kind];
    var item = element("li", { "class": "msg msg-" + message.kind });
    item.append(element("span", { "class": "who" }, who), " ", element("time", {}, message.time),
                element("p", { "class": "text" }, message.text));
    return item;
  }

  var transcript = document.getElementById("transcript");
  var replyForm = document.getElementById("reply-form");
  if (transcript) {
    var lastId = 0;
    var status = document.getElementById("ticket-status");
    poll(function () {
      return getJson(transcript.dataset.url + "?after=" + lastId).then(function (data) {
        data.messages.forEach(function (message) {
          transcript.append(messageItem(message));
          lastId = message.id;
        });
        if (data.messages.length) transcript.lastElementChild.scrollIntoView({ block: "nearest" });
        status.textContent = data.status + (data.assigned_staff ? " (" + data.assigned_staff + ")" : "");
        replyForm.hidden = !data.can_reply;
      });
    });
  }

  if (replyForm) {
    var replyStatus = document.getElementById("reply-status");
    replyForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = replyForm.elements.text.value.trim();
      if (!text) return;
      var button = replyForm.querySelector("button");
      button.disabled = true;
      replyStatus.textContent = "Sending…";
      fetch(replyForm.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify({ text: text })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) throw new Error(data.error || "Sending failed (" + response.status + ").");
          replyForm.elements.text.value = "";
          replyStatus.textContent = "Sent.";
        });
      }).catch(function (error) {
        replyStatus.textContent = error.message;
      }).then(function () {
        button.disabled = false;
      });
    });
  }
})();
