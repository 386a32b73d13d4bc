// The patient's chat page. Sends each message as JSON to the web app, which
// relays it to the assistant as the signed-in patient. On any failure the
// typed text stays in the box and a clear message says what happened.
// Without this script the form still works as a plain POST.
(function () {
  "use strict";
  var form = document.getElementById("chat-form");
  var box = document.getElementById("message");
  var log = document.getElementById("chat-log");
  var quick = document.getElementById("quick-replies");
  var errorLine = document.getElementById("chat-error");
  var send = document.getElementById("send");
  var tokenMeta = document.querySelector('meta[name="csrf-token"]');
  if (!form || !box || !log) { return; }
  var busy = false;

  function bubble(text, who, extra) {
    var item = document.createElement("li");
    item.className = "bubble " + who + (extra ? " " + extra : "");
    item.textContent = text;
    log.appendChild(item);
    form.scrollIntoView({ block: "end" });  // the newest message, and the box under it
    return item;
  }

  function showError(text) {
    errorLine.textContent = text + " If you need help now, use the crisis lines at the bottom of this page.";
    errorLine.hidden = false;
  }

  function clearError() {
    errorLine.hidden = true;
    errorLine.textContent = "";
  }

  function showButtons(replies) {
    quick.textContent = "";
    replies.forEach(function (reply) {
      (reply.buttons || []).forEach(function (b) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "quick";
        button.textContent = b.title;
        button.addEventListener("click", function () { deliver(b.payload, b.title, false); });
        quick.appendChild(button);
      });
    });
  }

  function deliver(message, shown, fromBox) {
    if (busy) { return; }
    busy = true;
    send.disabled = true;
    clearError();
    var mine = bubble(shown, "me", "pending");
    fetch(form.getAttribute("action"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": tokenMeta ? tokenMeta.content : ""
      },
      body: JSON.stringify({ message: message })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { ok: response.ok, status: response.status, body: body };
      });
    }).then(function (result) {
      if (!result.ok) {
        mine.className = "bubble me failed";
        if (result.status === 401) {
          showError("You were signed out. Copy your message, then sign in again.");
        } else {
          showError(result.body.error || "Your message was not sent. It is still in the box.");
        }
        return;
      }
      mine.className = "bubble me";
      if (fromBox && box.value === message) { box.value = ""; }
      quick.textContent = "";
      var replies = result.body.replies || [];
      replies.forEach(function (reply) { if (reply.text) { bubble(reply.text, "bot"); } });
      showButtons(replies);
    }).catch(function () {
      mine.className = "bubble me failed";
      showError("Could not reach the clinic's server, so your message was not sent. It is still in the box.");
    }).then(function () {
      busy = false;
      send.disabled = false;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value;
    if (!text.trim()) { showError("Type a message first."); return; }
    deliver(text, text, true);
  });

  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    }
  });

  // The server-rendered quick replies become script buttons too.
  Array.prototype.forEach.call(quick.querySelectorAll("form"), function (f) {
    f.addEventListener("submit", function (event) {
      event.preventDefault();
      var payload = f.querySelector('input[name="message"]').value;
      deliver(payload, f.querySelector("button").textContent, false);
    });
  });
  if (log.lastElementChild) { form.scrollIntoView({ block: "end" }); }
}());
