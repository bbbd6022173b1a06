// Live handoff: the queue refreshes itself; the desk polls new messages and sends replies.
(function () {
  "use strict";
  var base = document.querySelector('meta[name="console-base"]').content;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function text(tag, cls, value) {
    var el = document.createElement(tag);
    if (cls) { el.className = cls; }
    el.textContent = value;  // always text: nothing a shopper types is ever parsed as HTML
    return el;
  }

  // -- queue page ----------------------------------------------------------------------------
  var queue = document.getElementById("live-queue");
  if (queue) {
    var seen = Array.prototype.map.call(queue.querySelectorAll("tr[data-sid]"), function (r) { return r.dataset.sid; }).join(",");
    setInterval(function () {
      fetch(queue.dataset.refresh, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
        var now = data.queue.map(function (q) { return q.sender_id; }).join(",");
        if (now !== seen) { location.reload(); return; }
        queue.querySelectorAll("td.wait").forEach(function (td) {
          var s = parseInt(td.dataset.waited, 10) + 3; td.dataset.waited = s;
          td.textContent = Math.floor(s / 60) + " min " + (s % 60) + " s";
        });
      }).catch(function () {});
    }, 3000);
  }

  // -- desk page -----------------------------------------------------------------------------
  var desk = document.getElementById("desk");
  if (!desk) { return; }
  var sid = desk.dataset.sid;
  var after = parseInt(desk.dataset.after, 10) || 0;
  var chat = document.getElementById("chat");
  var presence = document.getElementById("presence");
  var api = base + "/api/live/" + encodeURIComponent(sid) + "/messages";
  var pendingShown = {};

  function append(item) {
    var li = document.createElement("li");
    li.className = "chat-" + item.who + (item.pending ? " chat-pending" : "");
    if (item.who !== "system") {
      li.appendChild(text("span", "who", item.who === "agent" ? "Agent " + (item.agent || "") : item.who === "shopper" ? "Shopper" : "Assistant"));
    }
    li.appendChild(text("span", "text", item.text + (item.pending ? " (saving…)" : "")));
    chat.appendChild(li);
    chat.scrollTop = chat.scrollHeight;
    return li;
  }

  function poll() {
    fetch(api + "?after=" + after, { credentials: "same-origin" }).then(function (r) {
      if (r.status === 401) { location.reload(); throw new Error("logged out"); }
      return r.json();
    }).then(function (data) {
      // Drop "saving…" copies of messages that reached the tracker (they arrive as items).
      Object.keys(pendingShown).forEach(function (k) {
        var still = data.pending.some(function (p) { return "p" + p.id === k; });
        if (!still) { pendingShown[k].remove(); delete pendingShown[k]; }
      });
      data.items.forEach(append);
      after = data.last_id;
      if (data.connected === true) { presence.textContent = "Shopper is online"; presence.classList.remove("gone"); }
      else if (data.connected === false) { presence.textContent = "Shopper has left the chat (messages are kept)"; presence.classList.add("gone"); }
      if (data.status && data.status !== desk.dataset.status) { location.reload(); }
    }).catch(function () {});
  }
  setInterval(poll, 1500);

  var form = document.getElementById("send");
  if (form) {
    var box = document.getElementById("reply");
    var err = document.getElementById("send-error");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var value = box.value.trim();
      if (!value) { return; }
      err.hidden = true;
      fetch(api, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ text: value })
      }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
        .then(function (res) {
          if (!res.ok) { err.textContent = res.body.error || "Not sent"; err.hidden = false; return; }
          box.value = "";  // only cleared once the console has saved it
          if (!res.body.saved) { pendingShown["p" + res.body.id] = append({ who: "agent", text: value, pending: true, agent: "you" }); }
          poll();
        }).catch(function () { err.textContent = "Not sent: the console is unreachable. Your text is still in the box."; err.hidden = false; });
    });
    box.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); }
    });
  }
})();
