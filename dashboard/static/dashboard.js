/* The live page: swaps in the panel the server pushes (server-sent events from /live/stream) and sends the
   operator actions (POST /actions/<kind>, JSON, with an idempotency key made once per attempt). */
(function () {
  "use strict";
  var panel = document.getElementById("live-panel");
  var status = document.getElementById("stream-status");

  function connect() {
    var source = new EventSource("/live/stream");
    source.addEventListener("open", function () { status.textContent = "live"; });
    source.addEventListener("state", function (event) {
      var open = Array.prototype.map.call(panel.querySelectorAll("details[open]"), function (d) { return d.id; });
      panel.innerHTML = JSON.parse(event.data);
      open.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
      status.textContent = "live, updated " + new Date().toISOString().slice(11, 19) + " UTC";
      document.documentElement.setAttribute("data-live-updates",
        String(Number(document.documentElement.getAttribute("data-live-updates") || "0") + 1));
    });
    source.addEventListener("error", function () { status.textContent = "reconnecting…"; });
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    return String(Date.now()) + "-" + String(Math.random()).slice(2);
  }

  function show(message, ok) {
    var box = document.getElementById("action-result");
    box.className = "flash " + (ok ? "ok" : "err");
    box.textContent = message;
  }

  function wire(form) {
    form.dataset.key = newKey();
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var confirmText = form.getAttribute("data-confirm");
      if (confirmText && !window.confirm(confirmText)) { return; }
      var body = { key: form.dataset.key };
      var reason = form.querySelector("[name=reason]");
      var minutes = form.querySelector("[name=minutes]");
      if (reason) { body.reason = reason.value; }
      if (minutes) { body.minutes = parseInt(minutes.value, 10); }
      fetch("/actions/" + form.getAttribute("data-action"), {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-Tradewake": "1" }, body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().then(function (answer) {
          show(answer.message, response.ok);
          if (response.ok) { form.dataset.key = newKey(); if (reason) { reason.value = ""; } }
        });
      }).catch(function (error) { show("not sent: " + error + " (press again: the same key is reused)", false); });
    });
  }

  document.querySelectorAll("form[data-action]").forEach(wire);
  if (panel && window.EventSource) { connect(); }
})();
