/* The live page: swaps in the panel the server pushes (server-sent events from /live/stream) and sends the
   operator actions (POST /actions/<kind>, JSON, with an idempotency key). A form may carry its own key
   (data-key: the managed holdings' forms name the asset's state, so one state takes one command); otherwise a
   key is made once per attempt (a retry after an error reuses it). Forms inside the pushed panel are handled too (the listener is the document's). */
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

  function fields(form) {
    var body = {};
    Array.prototype.forEach.call(form.querySelectorAll("input[name]"), function (input) {
      body[input.name] = input.type === "number" ? parseInt(input.value, 10) : input.value;
    });
    return body;
  }

  function send(form) {
    var confirmText = form.getAttribute("data-confirm");
    if (confirmText && !window.confirm(confirmText)) { return; }
    var ownKey = form.hasAttribute("data-key");
    if (!ownKey && !form.dataset.sentKey) { form.dataset.sentKey = newKey(); }
    var body = fields(form);
    body.key = ownKey ? form.getAttribute("data-key") : form.dataset.sentKey;
    fetch("/actions/" + form.getAttribute("data-action"), {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Tradewake": "1" }, body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().then(function (answer) {
        show(answer.message, response.ok);
        if (response.ok && !ownKey) {
          form.dataset.sentKey = newKey();
          Array.prototype.forEach.call(form.querySelectorAll("input[type=text]"), function (i) { i.value = ""; });
        }
      });
    }).catch(function (error) { show("not sent: " + error + " (press again: the same key is reused)", false); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest ? event.target.closest("form[data-action]") : null;
    if (!form) { return; }
    event.preventDefault();
    send(form);
  });
  if (panel && window.EventSource) { connect(); }
})();
