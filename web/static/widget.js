/*
 * Shopbot chat widget.
 *
 * Embed: <script src="https://shop.example/vendor/socket.io/socket.io.min.js" defer></script>
 *        <script src="https://shop.example/widget.js" defer></script>
 * Configure with window.ShopbotConfig = {...} or a <script type="application/json"
 * id="shopbot-config"> tag (see docs/widget.md).
 *
 * Security: every text (shopper, assistant, agent, catalog) is put in the page with
 * textContent or as DOM nodes built here; innerHTML is never used. Links are kept only
 * for http(s) and site-relative URLs.
 */
(function () {
  "use strict";
  if (window.__shopbotWidget) return;

  var currentScript = document.currentScript;
  var scriptOrigin = currentScript && currentScript.src ? new URL(currentScript.src, location.href).origin : "";

  // ---------------------------------------------------------------- config
  function readConfig() {
    var cfg = {};
    var tag = document.getElementById("shopbot-config");
    if (tag) {
      try { cfg = JSON.parse(tag.textContent || "{}") || {}; } catch (e) { cfg = {}; }
    }
    var fromWindow = window.ShopbotConfig;
    if (fromWindow && typeof fromWindow === "object") {
      for (var k in fromWindow) if (Object.prototype.hasOwnProperty.call(fromWindow, k)) cfg[k] = fromWindow[k];
    }
    var ds = currentScript ? currentScript.dataset : {};
    ["serverUrl", "socketUrl", "title", "greeting", "language", "customerToken"].forEach(function (k) {
      if (cfg[k] == null && ds && ds[k]) cfg[k] = ds[k];
    });
    var out = {
      serverUrl: typeof cfg.serverUrl === "string" ? cfg.serverUrl.replace(/\/+$/, "") : scriptOrigin,
      socketUrl: typeof cfg.socketUrl === "string" && cfg.socketUrl ? cfg.socketUrl : "http://127.0.0.1:5005",
      socketPath: typeof cfg.socketPath === "string" && cfg.socketPath ? cfg.socketPath : "/socket.io",
      title: typeof cfg.title === "string" && cfg.title ? cfg.title : "Shopbot",
      subtitle: typeof cfg.subtitle === "string" ? cfg.subtitle : "",
      greeting: typeof cfg.greeting === "string" ? cfg.greeting : "Hi! How can I help you today?",
      language: typeof cfg.language === "string" && cfg.language ? cfg.language : "en",
      customerToken: typeof cfg.customerToken === "string" && cfg.customerToken ? cfg.customerToken : null,
      colours: cfg.colours && typeof cfg.colours === "object" ? cfg.colours : {},
      storagePrefix: typeof cfg.storagePrefix === "string" ? cfg.storagePrefix : "shopbot",
      maxLength: typeof cfg.maxLength === "number" ? cfg.maxLength : 2000
    };
    return out;
  }

  var config = readConfig();
  var ns = config.storagePrefix + ":" + (config.serverUrl || location.origin) + ":";
  // One id per browser tab (sessionStorage survives navigation within the tab): queued
  // messages belong to the tab that queued them unless that tab is gone.
  var TAB_ID = (function () {
    try {
      var id = window.sessionStorage.getItem(ns + "tab");
      if (!id) { id = randomId(); window.sessionStorage.setItem(ns + "tab", id); }
      return id;
    } catch (e) { return randomId(); }
  })();

  // ---------------------------------------------------------------- storage
  var store = {
    get: function (key, fallback) {
      try {
        var raw = window.localStorage.getItem(ns + key);
        return raw == null ? fallback : JSON.parse(raw);
      } catch (e) { return fallback; }
    },
    set: function (key, value) {
      try { window.localStorage.setItem(ns + key, JSON.stringify(value)); } catch (e) { /* private mode */ }
    },
    del: function (key) {
      try { window.localStorage.removeItem(ns + key); } catch (e) { /* ignore */ }
    }
  };

  // FNV-1a: a short fingerprint of the customer token (not a secret, only a change detector).
  function hashString(text) {
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h.toString(16);
  }

  function randomId() {
    var bytes = new Uint8Array(16);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // ---------------------------------------------------------------- DOM helpers
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null || attrs[k] === false) continue;
        if (k === "text") node.textContent = attrs[k];
        else if (k === "className") node.className = attrs[k];
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
        else node.setAttribute(k, attrs[k] === true ? "" : String(attrs[k]));
      }
    }
    (children || []).forEach(function (c) {
      if (c == null) return;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  function safeUrl(url) {
    if (typeof url !== "string") return null;
    url = url.trim();
    if (/^https?:\/\//i.test(url)) return url;
    if (/^\/(?!\/)/.test(url)) return (config.serverUrl || "") + url;
    return null;
  }

  function isSameSite(url) {
    try { return new URL(url, location.href).origin === location.origin; } catch (e) { return false; }
  }

  function link(url, label) {
    var href = safeUrl(url);
    if (!href) return document.createTextNode(label);
    var a = el("a", { href: href, text: label });
    if (!isSameSite(href)) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
    else a.rel = "noopener";
    return a;
  }

  // Inline Markdown: **bold**, [label](url) and bare http(s) URLs. (No "__bold__":
  // identifiers such as window.__x__ are common in what shoppers paste.)
  var INLINE = /\*\*([^*]+)\*\*|()\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,!?;:'"])/g;

  function appendInline(parent, text) {
    var last = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      if (m[1] != null) parent.appendChild(el("strong", { text: m[1] }));
      else if (m[3] != null) parent.appendChild(link(m[4], m[3]));
      else if (m[5] != null) parent.appendChild(link(m[5], m[5]));
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // Block Markdown: paragraphs, "- " / "* " bullet lists and "1. " numbered lists.
  function renderMarkdown(text) {
    var frag = document.createDocumentFragment();
    var lines = String(text == null ? "" : text).replace(/\r\n?/g, "\n").split("\n");
    var list = null, listType = null, para = null;
    function closeAll() { list = null; listType = null; para = null; }
    lines.forEach(function (line) {
      var bullet = /^\s*[-*•]\s+(.*)$/.exec(line);
      var numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
      if (bullet || numbered) {
        var type = bullet ? "ul" : "ol";
        if (!list || listType !== type) {
          list = el(type); listType = type; para = null;
          frag.appendChild(list);
        }
        var li = el("li");
        appendInline(li, (bullet || numbered)[1]);
        list.appendChild(li);
        return;
      }
      if (!line.trim()) { closeAll(); return; }
      list = null; listType = null;
      if (!para) { para = el("p"); frag.appendChild(para); }
      else para.appendChild(el("br"));
      appendInline(para, line);
    });
    return frag;
  }

  function formatTime(ts) {
    var d = ts ? new Date(ts * 1000) : new Date();
    try {
      return d.toLocaleTimeString(config.language, { hour: "2-digit", minute: "2-digit" });
    } catch (e) {
      return d.toTimeString().slice(0, 5);
    }
  }

  function formatPrice(price, currency) {
    if (typeof price === "string" && price && isNaN(Number(price))) return price;
    var n = Number(price);
    if (price == null || price === "" || isNaN(n)) return "";
    try {
      return new Intl.NumberFormat(config.language, { style: "currency", currency: currency || "EUR" }).format(n);
    } catch (e) {
      return n.toFixed(2) + " " + (currency || "");
    }
  }

  // ---------------------------------------------------------------- UI
  var ui = {};
  var state = {
    sessionId: null,
    open: !!store.get("open", false),
    unread: store.get("unread", 0) || 0,
    connected: false,
    confirmed: false,
    everConnected: false,
    inflight: {},
    suppressAck: null,
    typingTimer: null,
    agent: null,
    lastBot: null,
    seenCids: {},
    seenLive: {}
  };

  function buildUi() {
    var root = el("div", { className: "sbw-root", lang: config.language, "data-shopbot-widget": "" });
    var c = config.colours || {};
    if (c.primary) root.style.setProperty("--sbw-primary", String(c.primary));
    if (c.onPrimary) root.style.setProperty("--sbw-on-primary", String(c.onPrimary));

    ui.badge = el("span", { className: "sbw-badge", hidden: true, "aria-hidden": "true" });
    ui.launcher = el("button", {
      type: "button", className: "sbw-launcher", "aria-expanded": "false", "aria-controls": "sbw-panel",
      "aria-label": "Open chat with " + config.title, onclick: function () { setOpen(!state.open, true); }
    }, [iconChat(), ui.badge]);

    ui.status = el("span", { className: "sbw-status", text: "Connecting…" });
    ui.handoffBtn = el("button", { type: "button", className: "sbw-head-btn sbw-human", text: "Talk to a human",
      onclick: function () { sendMessage("/human_handoff", { display: "Talk to a human" }); } });
    ui.endBtn = el("button", { type: "button", className: "sbw-head-btn", text: "End chat",
      onclick: function () { showRating(true); } });
    ui.closeBtn = el("button", { type: "button", className: "sbw-head-btn sbw-close", "aria-label": "Close chat",
      onclick: function () { setOpen(false, true); } }, ["×"]);
    var header = el("header", { className: "sbw-header" }, [
      el("div", { className: "sbw-titles" }, [
        el("h2", { className: "sbw-title", id: "sbw-title", text: config.title }),
        ui.status
      ]),
      ui.closeBtn,
      el("div", { className: "sbw-actions" }, [ui.handoffBtn, ui.endBtn])
    ]);

    ui.offline = el("div", { className: "sbw-offline", role: "status", hidden: true },
      ["You are offline. Messages you write are kept and sent when the connection is back."]);
    ui.agentBar = el("div", { className: "sbw-agent-bar", hidden: true });
    ui.log = el("ol", { className: "sbw-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
      "aria-label": "Conversation", tabindex: "0" });
    ui.typing = el("div", { className: "sbw-typing", hidden: true, "aria-hidden": "true" },
      [el("span"), el("span"), el("span"), el("em", { text: config.title + " is typing" })]);
    ui.announcer = el("div", { className: "sbw-visually-hidden", "aria-live": "assertive", role: "status" });

    ui.rating = el("div", { className: "sbw-rating", hidden: true, role: "group", "aria-labelledby": "sbw-rating-q" });
    ui.rating.appendChild(el("p", { id: "sbw-rating-q", text: "How would you rate this chat?" }));
    var stars = el("div", { className: "sbw-stars" });
    [1, 2, 3, 4, 5].forEach(function (n) {
      stars.appendChild(el("button", { type: "button", className: "sbw-star", "aria-label": "Rate " + n + " out of 5",
        text: "★", "data-value": String(n), onclick: function () { rate(n); } }));
    });
    ui.rating.appendChild(stars);
    ui.ratingThanks = el("p", { className: "sbw-rating-thanks", hidden: true, text: "Thank you for your rating!" });
    ui.rating.appendChild(ui.ratingThanks);

    ui.input = el("textarea", { id: "sbw-input", className: "sbw-input", rows: "1", maxlength: String(config.maxLength),
      placeholder: "Type your message…", autocomplete: "off" });
    ui.send = el("button", { type: "submit", className: "sbw-send", "aria-label": "Send message" }, [iconSend()]);
    ui.form = el("form", { className: "sbw-composer" }, [
      el("label", { "for": "sbw-input", className: "sbw-visually-hidden", text: "Message to " + config.title }),
      ui.input, ui.send
    ]);
    ui.form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = ui.input.value.trim();
      if (!text) return;
      ui.input.value = "";
      autoGrow();
      sendMessage(text, {});
      ui.input.focus();
    });
    ui.input.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        if (typeof ui.form.requestSubmit === "function") ui.form.requestSubmit();
        else ui.form.dispatchEvent(new Event("submit", { cancelable: true }));
      }
    });
    ui.input.addEventListener("input", autoGrow);

    ui.panel = el("section", { id: "sbw-panel", className: "sbw-panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "sbw-title", hidden: true }, [
      header, ui.offline, ui.agentBar, ui.log, ui.typing, ui.rating, ui.form, ui.announcer
    ]);
    ui.panel.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape") { ev.preventDefault(); setOpen(false, true); }
    });
    root.appendChild(ui.panel);
    root.appendChild(ui.launcher);
    document.body.appendChild(root);
    ui.root = root;

    // Page buttons: data-shopbot-open opens the panel, data-shopbot-ask="text" asks a question.
    document.addEventListener("click", function (ev) {
      var target = ev.target && ev.target.closest ? ev.target.closest("[data-shopbot-open],[data-shopbot-ask]") : null;
      if (!target || root.contains(target)) return;
      ev.preventDefault();
      setOpen(true, true);
      var ask = target.getAttribute("data-shopbot-ask");
      if (ask) sendMessage(ask, {});
    });
    updateBadge();
  }

  function svg(pathD) {
    var NS = "http://www.w3.org/2000/svg";
    var s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", "24");
    s.setAttribute("height", "24");
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    var p = document.createElementNS(NS, "path");
    p.setAttribute("d", pathD);
    p.setAttribute("fill", "currentColor");
    s.appendChild(p);
    return s;
  }
  function iconChat() { return svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm3 6v2h2v-2H7zm4 0v2h2v-2h-2zm4 0v2h2v-2h-2z"); }
  function iconThumb() {
    var icon = svg("M2 21h4V9H2v12zM23 10a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L14.2 1 7.6 7.6C7.2 7.9 7 8.4 7 9v10a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z");
    return icon;
  }
  function iconSend() { return svg("M3 20l18-8L3 4v6l12 2-12 2z"); }

  function autoGrow() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + "px";
  }

  function setOpen(open, byUser) {
    state.open = open;
    store.set("open", open);
    ui.panel.hidden = !open;
    ui.root.classList.toggle("sbw-is-open", open);
    ui.launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      state.unread = 0;
      store.set("unread", 0);
      updateBadge();
      scrollToEnd();
      if (byUser) ui.input.focus();
    } else if (byUser) {
      ui.launcher.focus();
    }
  }

  function updateBadge() {
    var n = state.unread;
    ui.badge.hidden = !n;
    ui.badge.textContent = n > 9 ? "9+" : String(n);
    ui.launcher.setAttribute("aria-label", "Open chat with " + config.title + (n ? ", " + n + " unread message" + (n > 1 ? "s" : "") : ""));
  }

  function setStatus() {
    var text;
    if (!state.connected) text = "Offline";
    else if (state.agent) text = state.agent + " (support agent) is here";
    else text = config.subtitle || "Online";
    ui.status.textContent = text;
    ui.root.classList.toggle("sbw-is-offline", !state.connected && state.everConnected);
    ui.offline.hidden = state.connected || !state.everConnected;
  }

  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function announce(text) {
    ui.announcer.textContent = "";
    window.setTimeout(function () { ui.announcer.textContent = text; }, 30);
  }

  function showTyping(on) {
    window.clearTimeout(state.typingTimer);
    ui.typing.hidden = !on;
    if (on) {
      state.typingTimer = window.setTimeout(function () { ui.typing.hidden = true; }, 30000);
      scrollToEnd();
    }
  }

  // ---------------------------------------------------------------- rendering
  function messageItem(role, author, ts) {
    var li = el("li", { className: "sbw-msg sbw-" + role });
    var bubble = el("div", { className: "sbw-bubble" });
    var meta = el("div", { className: "sbw-meta" }, [
      el("span", { className: "sbw-author", text: author }),
      el("time", { datetime: new Date(ts ? ts * 1000 : Date.now()).toISOString(), text: formatTime(ts) })
    ]);
    li.appendChild(bubble);
    li.appendChild(meta);
    return { li: li, bubble: bubble, meta: meta };
  }

  function appendItem(li, live) {
    ui.log.appendChild(li);
    scrollToEnd();
    if (live && !state.open) {
      state.unread += 1;
      store.set("unread", state.unread);
      updateBadge();
    }
  }

  function renderUser(text, opts) {
    opts = opts || {};
    var m = messageItem("user", "You", opts.ts);
    m.bubble.appendChild(document.createTextNode(text));
    if (opts.cid) m.li.setAttribute("data-cid", opts.cid);
    if (opts.pending) {
      m.li.classList.add("sbw-pending");
      m.meta.appendChild(el("span", { className: "sbw-pending-note", text: "Waiting to send" }));
    }
    removeQuickReplies();
    appendItem(m.li, false);
    return m.li;
  }

  function markDelivered(cid) {
    var li = ui.log.querySelector('[data-cid="' + cid + '"]');
    if (!li) return;
    li.classList.remove("sbw-pending");
    var note = li.querySelector(".sbw-pending-note");
    if (note) note.remove();
  }

  function removeQuickReplies() {
    Array.prototype.forEach.call(ui.log.querySelectorAll(".sbw-quick"), function (q) { q.remove(); });
  }

  function quickReplies(buttons) {
    var ratingButtons = buttons.filter(function (b) { return /^\/give_feedback\{.*"rating"/.test(b.payload || ""); });
    if (ratingButtons.length && ratingButtons.length === buttons.length) {
      showRating(false);
      return null;
    }
    var wrap = el("div", { className: "sbw-quick", role: "group", "aria-label": "Suggested replies" });
    buttons.forEach(function (b) {
      var title = String(b.title || b.payload || "");
      wrap.appendChild(el("button", { type: "button", className: "sbw-chip", text: title, onclick: function () {
        sendMessage(String(b.payload || title), { display: title });
        ui.input.focus();  // the chips are removed; keep keyboard users in the panel
      } }));
    });
    return wrap;
  }

  function carouselItems(msg) {
    var c = null;
    if (msg && msg.type === "carousel") c = msg;
    else if (msg && msg.custom && msg.custom.type === "carousel") c = msg.custom;
    else if (msg && msg.data && msg.data.type === "carousel") c = msg.data;
    else if (msg && msg.custom && msg.custom.data && msg.custom.data.type === "carousel") c = msg.custom.data;
    if (c) return { text: c.text || c.intro || "", items: Array.isArray(c.items) ? c.items : [] };
    var att = msg && msg.attachment;
    if (att && att.type === "template" && att.payload && att.payload.template_type === "generic") {
      var els = att.payload.elements;
      return { text: "", items: Array.isArray(els) ? els : els ? [els] : [] };
    }
    return null;
  }

  // An order card (custom JSON {"type": "order", "order": {...}}) sent beside a short sentence.
  function orderCard(msg) {
    var c = msg && msg.custom && msg.custom.type === "order" ? msg.custom : msg && msg.type === "order" ? msg : null;
    return c && c.order && typeof c.order === "object" ? c.order : null;
  }

  // "2026-11-17" -> "17 Nov 2026" in the page's language; anything else is shown as it is.
  function readableDate(value) {
    var text = String(value);
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
    if (!m) return text;
    var d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
    try {
      return d.toLocaleDateString(config.language || undefined, { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
    } catch (e) {
      return text;
    }
  }

  function renderOrderCard(order) {
    var number = String(order.order_number || "");
    var card = el("section", { className: "sbw-order", "aria-label": "Order " + number });
    var head = el("p", { className: "sbw-order-head" });
    head.appendChild(el("strong", { text: "Order " + number }));
    head.appendChild(el("span", { className: "sbw-order-status sbw-order-" + String(order.status || ""), text: String(order.status || "") }));
    card.appendChild(head);
    var steps = Array.isArray(order.timeline) ? order.timeline : [];
    if (steps.length && ["cancelled", "returned"].indexOf(String(order.status)) < 0) {
      var line = el("ol", { className: "sbw-order-timeline", "aria-label": "Progress" });
      steps.forEach(function (s) {
        if (!s || typeof s !== "object") return;
        line.appendChild(el("li", { className: s.done ? "sbw-step-done" : "sbw-step", text: String(s.label || ""),
          "aria-label": String(s.label || "") + (s.done ? ": done" : ": not yet") }));
      });
      card.appendChild(line);
    }
    if (order.date) card.appendChild(el("p", { className: "sbw-order-date", text: String(order.date_label || "Date") + ": " + readableDate(order.date) }));
    var items = el("ul", { className: "sbw-order-items", "aria-label": "Items" });
    (Array.isArray(order.items) ? order.items : []).slice(0, 20).forEach(function (i) {
      if (!i || typeof i !== "object") return;
      var row = el("li", {});
      var img = safeUrl(i.image_url || "");
      if (img) row.appendChild(el("img", { src: img, alt: "", loading: "lazy", width: "40", height: "40" }));
      row.appendChild(el("span", { text: String(i.quantity || 1) + " × " + String(i.title || "") }));
      items.appendChild(row);
    });
    card.appendChild(items);
    if (order.tracking_number) {
      var track = el("p", { className: "sbw-order-tracking" });
      var label = String(order.carrier || "Tracking") + " " + String(order.tracking_number);
      var href = safeUrl(order.tracking_url || "");
      track.appendChild(href ? link(href, "Track parcel: " + label) : document.createTextNode(label));
      card.appendChild(track);
    }
    if (order.total) card.appendChild(el("p", { className: "sbw-order-total", text: "Total: " + String(order.total) }));
    return card;
  }

  function renderCarousel(items) {
    var list = el("ul", { className: "sbw-carousel", "aria-label": "Products" });
    items.slice(0, 20).forEach(function (item) {
      if (!item || typeof item !== "object") return;
      var title = String(item.title || item.name || "Product");
      var url = item.url || item.product_url || (item.default_action && item.default_action.url) || null;
      var img = safeUrl(item.image || item.image_url || "");
      var card = el("li", { className: "sbw-card" });
      if (img) card.appendChild(el("img", { src: img, alt: "", loading: "lazy", width: "200", height: "150" }));
      else card.appendChild(el("div", { className: "sbw-card-noimg", "aria-hidden": "true" }));
      var h = el("h3", { className: "sbw-card-title" });
      h.appendChild(url ? link(url, title) : document.createTextNode(title));
      card.appendChild(h);
      var price = formatPrice(item.price, item.currency);
      // Variants: "€12.99–€17.99" when the options' prices differ.
      if (price && item.price_to != null && formatPrice(item.price_to, item.currency)) price += "–" + formatPrice(item.price_to, item.currency);
      var meta = el("p", { className: "sbw-card-meta" });
      if (price) meta.appendChild(el("span", { className: "sbw-price", text: price }));
      if (item.rating != null && !isNaN(Number(item.rating))) {
        meta.appendChild(el("span", { className: "sbw-stars-small", "aria-label": "Rated " + Number(item.rating).toFixed(1) + " out of 5",
          text: "★ " + Number(item.rating).toFixed(1) }));
      }
      if (item.subtitle && !price) meta.appendChild(el("span", { text: String(item.subtitle) }));
      card.appendChild(meta);
      // Variants: the options in stock ("Colour: black, white"), or "Sold out".
      if (Array.isArray(item.options) && item.options.length) {
        var opts = el("ul", { className: "sbw-card-options", "aria-label": "Options in stock" });
        item.options.slice(0, 4).forEach(function (o) {
          if (!o || typeof o !== "object" || !Array.isArray(o.values) || !o.values.length) return;
          var name = String(o.name || "");
          opts.appendChild(el("li", { text: name.charAt(0).toUpperCase() + name.slice(1) + ": " + o.values.slice(0, 12).map(String).join(", ") }));
        });
        if (opts.childNodes.length) card.appendChild(opts);
      }
      if (item.in_stock === false) card.appendChild(el("p", { className: "sbw-card-stock", text: "Sold out" }));
      var actions = el("div", { className: "sbw-card-actions" });
      var buttons = Array.isArray(item.buttons) ? item.buttons : [];
      var hasDetails = false;
      buttons.forEach(function (b) {
        if (!b || typeof b !== "object") return;
        var bt = String(b.title || "");
        if (/^details$/i.test(bt) && url && safeUrl(url)) b = { title: bt, url: url };  // open the product page
        if (b.url || b.type === "web_url") {
          var href = safeUrl(b.url);
          if (href) { actions.appendChild(el("a", { className: "sbw-card-btn", href: href, text: bt || "Details" })); hasDetails = true; }
        } else if (b.payload) {
          actions.appendChild(el("button", { type: "button", className: "sbw-card-btn", text: bt,
            "aria-label": bt + ": " + title,
            onclick: function () { sendMessage(String(b.payload), { display: bt + ": " + title }); } }));
        }
      });
      if (!hasDetails && url && safeUrl(url)) {
        actions.insertBefore(el("a", { className: "sbw-card-btn", href: safeUrl(url), text: "Details", "aria-label": "Details: " + title }), actions.firstChild);
      }
      card.appendChild(actions);
      list.appendChild(card);
    });
    return list;
  }

  function feedbackControls(key, answerText) {
    var wrap = el("div", { className: "sbw-feedback", role: "group", "aria-label": "Was this answer helpful?" });
    var note = el("span", { className: "sbw-feedback-note", role: "status" });
    function vote(value, btn, other) {
      if (btn.getAttribute("aria-pressed") === "true") return;
      btn.setAttribute("aria-pressed", "true");
      other.setAttribute("aria-pressed", "false");
      btn.disabled = true; other.disabled = true;
      note.textContent = "Thanks for the feedback";
      state.suppressAck = { until: Date.now() + 8000, note: note };
      sendMessage('/give_feedback{"feedback_value":"' + value + '"}', { hidden: true, feedback_for: key, feedback_text: answerText });
    }
    var up = el("button", { type: "button", className: "sbw-thumb", "aria-label": "Helpful", "aria-pressed": "false", title: "Helpful" }, [iconThumb(false)]);
    var down = el("button", { type: "button", className: "sbw-thumb sbw-thumb-down", "aria-label": "Not helpful", "aria-pressed": "false", title: "Not helpful" }, [iconThumb(true)]);
    up.addEventListener("click", function () { vote("up", up, down); });
    down.addEventListener("click", function () { vote("down", down, up); });
    wrap.appendChild(up); wrap.appendChild(down); wrap.appendChild(note);
    return wrap;
  }

  function title0(carousel) {
    return carousel && carousel.items.length ? "products: " + carousel.items.map(function (i) { return String((i && i.title) || ""); }).join(", ") : "";
  }

  // Render one assistant (or agent) message. Returns the list item or null.
  function renderBot(msg, opts) {
    opts = opts || {};
    var role = opts.agent ? "agent" : "bot";
    var author = opts.agent ? opts.agent + " (support agent)" : config.title;
    var text = typeof msg.text === "string" ? msg.text : "";
    var carousel = carouselItems(msg);
    if (carousel && carousel.text && !text) text = carousel.text;
    var image = msg.image || (msg.attachment && msg.attachment.type === "image" && msg.attachment.payload && msg.attachment.payload.src);
    var buttons = msg.buttons || msg.quick_replies || (msg.custom && Array.isArray(msg.custom.buttons) ? msg.custom.buttons : null);
    var order = orderCard(msg);
    if (!text && !carousel && !image && !order && !(buttons && buttons.length)) return null;
    var m = messageItem(role, author, opts.ts);
    if (text) m.bubble.appendChild(renderMarkdown(text));
    if (image && safeUrl(image)) m.bubble.appendChild(el("img", { className: "sbw-image", src: safeUrl(image), alt: "" }));
    if (carousel && carousel.items.length) {
      m.li.classList.add("sbw-has-carousel");
      m.li.insertBefore(renderCarousel(carousel.items), m.meta);
    }
    if (order) m.bubble.appendChild(renderOrderCard(order));
    if (!text && !image && !order) m.bubble.hidden = true;
    if (role === "bot" && (text || carousel) && !order) {
      m.meta.appendChild(feedbackControls(opts.key || String(Date.now()), (text || title0(carousel)).slice(0, 200)));
    }
    if (buttons && buttons.length && !opts.history) {
      var q = quickReplies(buttons);
      if (q) m.li.appendChild(q);
    } else if (buttons && buttons.length && opts.history) {
      m.li.setAttribute("data-buttons", "1");
      m.li._buttons = buttons;
    }
    appendItem(m.li, !!opts.live);
    if (opts.live) announce((opts.agent ? opts.agent : config.title) + ": " + (text || (carousel ? carousel.items.length + " products" : order ? "order " + String(order.order_number || "") : "")));
    return m.li;
  }

  function renderSystem(text, ts) {
    var li = el("li", { className: "sbw-msg sbw-system" }, [el("span", { text: text })]);
    if (ts) li.appendChild(el("time", { datetime: new Date(ts * 1000).toISOString(), text: formatTime(ts) }));
    appendItem(li, false);
    return li;
  }

  function renderGreeting() {
    if (!config.greeting) return;
    var m = messageItem("bot", config.title, null);
    m.li.classList.add("sbw-greeting");
    m.bubble.appendChild(renderMarkdown(config.greeting));
    ui.log.appendChild(m.li);
  }

  function renderHistory(messages) {
    ui.log.setAttribute("aria-busy", "true");
    while (ui.log.firstChild) ui.log.removeChild(ui.log.firstChild);
    if (!messages.length) renderGreeting();
    var lastLi = null;
    messages.forEach(function (msg, i) {
      if (msg.cid) state.seenCids[msg.cid] = true;
      if (msg.live_id) state.seenLive[msg.live_id] = true;
      if (msg.role === "user") { renderUser(msg.text || "", { ts: msg.ts, cid: msg.cid }); lastLi = null; }
      else if (msg.role === "agent") lastLi = renderBot(msg, { agent: msg.agent || "Support agent", ts: msg.ts, history: true });
      else if (msg.role === "system") {
        renderSystem(agentNote(msg.kind, msg.agent), msg.ts);
      } else lastLi = renderBot(msg, { ts: msg.ts, history: true, key: "h" + (msg.ts || i) }) || lastLi;
    });
    // Quick replies stay usable on the last answer only.
    if (lastLi && lastLi._buttons) {
      var q = quickReplies(lastLi._buttons);
      if (q) lastLi.appendChild(q);
    }
    pendingFromOutbox().forEach(function (item) {
      if (!item.hidden) renderUser(item.display || item.text, { cid: item.cid, pending: true });
    });
    ui.log.removeAttribute("aria-busy");
    scrollToEnd();
  }

  function agentNote(kind, agent) {
    return kind === "agent_joined" ? agent + " from our support team joined the chat" : agent + " left the chat. The assistant is back.";
  }

  // ---------------------------------------------------------------- rating
  function showRating(scroll) {
    ui.rating.hidden = false;
    ui.ratingThanks.hidden = true;
    Array.prototype.forEach.call(ui.rating.querySelectorAll(".sbw-star"), function (b) { b.disabled = false; b.classList.remove("sbw-on"); });
    if (scroll) {
      var first = ui.rating.querySelector(".sbw-star");
      if (first) first.focus();
    }
  }

  function rate(n) {
    Array.prototype.forEach.call(ui.rating.querySelectorAll(".sbw-star"), function (b) {
      b.classList.toggle("sbw-on", Number(b.getAttribute("data-value")) <= n);
      b.disabled = true;
    });
    ui.ratingThanks.hidden = false;
    state.suppressAck = { until: Date.now() + 8000, note: null };
    sendMessage('/give_feedback{"rating":"' + n + '"}', { hidden: true });
    window.setTimeout(function () { ui.rating.hidden = true; ui.input.focus(); }, 2500);
  }

  // ---------------------------------------------------------------- outbox
  // Messages wait in localStorage until Rasa acknowledges them; each carries a client id
  // (cid) stored in the message metadata, so after a reconnect the ones already in the
  // tracker are dropped instead of being sent twice.
  function outbox() { return store.get("outbox:" + state.sessionId, []) || []; }
  function saveOutbox(items) { store.set("outbox:" + state.sessionId, items); }
  function pendingFromOutbox() { return state.sessionId ? outbox() : []; }

  function heartbeat() {
    var tabs = store.get("tabs", {}) || {};
    var now = Date.now();
    tabs[TAB_ID] = now;
    for (var t in tabs) if (now - tabs[t] > 20000) delete tabs[t];
    store.set("tabs", tabs);
  }

  function ownsItem(item) {
    if (item.tab === TAB_ID) return true;
    var tabs = store.get("tabs", {}) || {};
    return !tabs[item.tab] || Date.now() - tabs[item.tab] > 15000;
  }

  function sendMessage(text, opts) {
    opts = opts || {};
    text = String(text).slice(0, config.maxLength);
    if (!text.trim()) return;
    var item = { cid: randomId(), text: text, display: opts.display || null, hidden: !!opts.hidden,
      feedback_for: opts.feedback_for || null, feedback_text: opts.feedback_text || null, tab: TAB_ID, at: Date.now() };
    if (!state.sessionId) { pendingBeforeSession.push(item); return; }
    var items = outbox();
    items.push(item);
    saveOutbox(items);
    if (!item.hidden) {
      state.suppressAck = null;
      renderUser(item.display || item.text, { cid: item.cid, pending: !state.confirmed });
      broadcast({ type: "user", cid: item.cid, text: item.display || item.text });
      if (state.confirmed) showTyping(true);
    }
    flush();
  }
  var pendingBeforeSession = [];

  function flush() {
    if (!state.confirmed || !socket) return;
    var items = outbox();
    items.forEach(function (item) {
      if (state.inflight[item.cid] || state.seenCids[item.cid] || !ownsItem(item)) return;
      state.inflight[item.cid] = true;
      var meta = { cid: item.cid, language: config.language, page: location.pathname };
      if (item.display) meta.display = item.display;
      if (item.hidden) meta.hidden = true;
      if (item.feedback_for) { meta.message_id = item.feedback_for; meta.feedback_for = item.feedback_for; }
      if (item.feedback_text) meta.message_text = item.feedback_text;
      if (config.customerToken) meta.customer_token = config.customerToken;
      var payload = { message: item.text, session_id: state.sessionId, customData: meta, metadata: meta };
      // The channel acknowledges once the turn is saved in the tracker store; an ack
      // of {ok: false} (the turn failed, e.g. the store was locked) keeps the message in
      // the outbox and sends it again a little later.
      socket.emit("user_uttered", payload, function (ack) {
        if (ack && ack.ok === false) { retryLater(item.cid); return; }
        delivered(item.cid);
      });
      if (!item.hidden) { markDelivered(item.cid); showTyping(true); }
    });
  }

  function retryLater(cid) {
    window.setTimeout(function () { delete state.inflight[cid]; flush(); }, 3000);
  }

  function delivered(cid) {
    delete state.inflight[cid];
    state.seenCids[cid] = true;
    saveOutbox(outbox().filter(function (i) { return i.cid !== cid; }));
    markDelivered(cid);
  }

  function dropDelivered() {
    saveOutbox(outbox().filter(function (i) { return !state.seenCids[i.cid]; }));
  }

  // ---------------------------------------------------------------- other tabs
  var channel = null;
  try { channel = new BroadcastChannel(ns + "tabs"); } catch (e) { channel = null; }
  function broadcast(msg) {
    if (!channel) return;
    msg.sessionId = state.sessionId;
    try { channel.postMessage(msg); } catch (e) { /* ignore */ }
  }
  if (channel) {
    channel.onmessage = function (ev) {
      var msg = ev.data || {};
      if (msg.sessionId !== state.sessionId || msg.type !== "user") return;
      if (ui.log.querySelector('[data-cid="' + msg.cid + '"]')) return;
      renderUser(String(msg.text || ""), { cid: msg.cid });
    };
  }

  // ---------------------------------------------------------------- network
  function api(path, options) {
    return fetch(config.serverUrl + path, options || {}).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) { body.__status = resp.status; return body; });
    });
  }

  function newSession() {
    return api("/api/session", { method: "POST" }).then(function (body) {
      if (!body.session_id) throw new Error("no session id");
      state.sessionId = body.session_id;
      store.set("session", body.session_id);
      return body.session_id;
    });
  }

  function loadHistory() {
    return api("/api/history?session_id=" + encodeURIComponent(state.sessionId)).then(function (body) {
      if (body.__status === 404) return newSession().then(function () { renderHistory([]); });
      if (body.__status !== 200) {
        if (!ui.log.firstChild) renderHistory([]);
        return null;
      }
      var messages = Array.isArray(body.messages) ? body.messages : [];
      messages.forEach(function (m) { if (m.cid) state.seenCids[m.cid] = true; });
      dropDelivered();
      renderHistory(messages);
      setAgent(body.agent || null, false);
      return messages;
    });
  }

  var socket = null;
  function connectSocket() {
    if (typeof window.io !== "function") { loadSocketIo(connectSocket); return; }
    socket = window.io(config.socketUrl, {
      path: config.socketPath,
      // WebSocket first (no CORS needed); long-polling if a proxy blocks WebSockets.
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 15000,
      randomizationFactor: 0.5,
      timeout: 10000
    });
    socket.on("connect", function () {
      socket.emit("session_request", { session_id: state.sessionId });
    });
    // The assistant refuses ids the web app did not issue (e.g. after its keys changed):
    // start a new conversation once instead of staying silent.
    var renewed = false;
    socket.on("session_error", function () {
      if (renewed) return;
      renewed = true;
      newSession().then(function () {
        renderHistory([]);
        socket.emit("session_request", { session_id: state.sessionId });
      });
    });
    socket.on("session_confirm", function () {
      var wasOffline = state.everConnected && !state.connected;
      state.connected = true;
      state.confirmed = true;
      state.everConnected = true;
      setStatus();
      if (wasOffline && ui.log.querySelector(".sbw-user, .sbw-agent")) {
        // Answers sent while we were away are in the tracker: reload, then send what is left.
        loadHistory().then(flush, flush);
      } else {
        flush();
      }
    });
    socket.on("bot_uttered", onBotMessage);
    socket.on("disconnect", function () {
      state.connected = false;
      state.confirmed = false;
      state.inflight = {};
      if (socket.sendBuffer) socket.sendBuffer.length = 0;
      showTyping(false);
      setStatus();
    });
    socket.on("connect_error", function () {
      state.connected = false;
      state.confirmed = false;
      if (!state.everConnected) { state.everConnected = true; }
      setStatus();
    });
  }

  function loadSocketIo(then) {
    var s = document.createElement("script");
    s.src = config.serverUrl + "/vendor/socket.io/socket.io.min.js";
    s.onload = then;
    s.onerror = function () { state.everConnected = true; setStatus(); };
    document.head.appendChild(s);
  }

  function onBotMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    showTyping(false);
    var ack = state.suppressAck;
    if (ack && Date.now() < ack.until && !carouselItems(msg) && !orderCard(msg)) {
      // The assistant's acknowledgement of a thumbs/rating: a quiet note, not a new bubble.
      if (ack.note && msg.text) ack.note.textContent = String(msg.text);
      return;
    }
    state.suppressAck = null;
    renderBot(msg, { live: true, key: "l" + Date.now() });
  }

  // Live handoff (server-sent events from the web app).
  var live = null, liveRetry = 1000;
  function connectLive() {
    if (typeof window.EventSource !== "function") return;
    live = new EventSource(config.serverUrl + "/api/live?session_id=" + encodeURIComponent(state.sessionId));
    live.onopen = function () { liveRetry = 1000; };
    live.onmessage = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      onLiveEvent(data);
    };
    live.onerror = function () {
      if (live.readyState === 2) {
        live.close();
        window.setTimeout(connectLive, liveRetry);
        liveRetry = Math.min(liveRetry * 2, 30000);
      }
    };
  }

  function setAgent(agent, note, ts) {
    var changed = agent !== state.agent;
    var previous = state.agent;
    state.agent = agent;
    ui.agentBar.hidden = !agent;
    ui.agentBar.textContent = agent ? "You are chatting with " + agent + " from our support team." : "";
    ui.root.classList.toggle("sbw-has-agent", !!agent);
    setStatus();
    if (note && changed) {
      var text = agent ? agentNote("agent_joined", agent) : agentNote("agent_left", previous || "The agent");
      renderSystem(text, ts);
      announce(text);
    }
  }

  function onLiveEvent(ev) {
    if (!ev || typeof ev !== "object") return;
    if (ev.id && state.seenLive[ev.id]) return;
    if (ev.id) state.seenLive[ev.id] = true;
    if (ev.type === "state") setAgent(ev.agent || null, false);
    else if (ev.type === "agent_joined") setAgent(String(ev.agent || "Support agent"), true, ev.ts);
    else if (ev.type === "agent_left") setAgent(null, true, ev.ts);
    else if (ev.type === "agent_message") {
      showTyping(false);
      renderBot({ text: String(ev.text || "") }, { agent: String(ev.agent || state.agent || "Support agent"), ts: ev.ts, live: true });
    } else if (ev.type === "agent_typing") {
      showTyping(true);
    }
  }

  // ---------------------------------------------------------------- start
  function start() {
    buildUi();
    setOpen(state.open, false);
    setStatus();
    heartbeat();
    window.setInterval(function () { heartbeat(); flush(); }, 5000);
    window.addEventListener("online", function () { if (socket && !socket.connected) socket.connect(); });
    var saved = store.get("session", null);
    // A shopper who logs in or out starts a new conversation: the assistant checks the
    // customer token when a conversation starts, and a logged-out browser must not keep
    // showing a verified customer's conversation.
    var identity = config.customerToken ? "t" + hashString(config.customerToken) : "anonymous";
    var savedIdentity = store.get("identity", null);
    if (saved && savedIdentity !== null && savedIdentity !== identity) {
      store.del("outbox:" + saved);
      saved = null;
    }
    store.set("identity", identity);
    var ready = saved
      ? Promise.resolve(saved).then(function (sid) { state.sessionId = sid; return loadHistory(); })
      // A new conversation has no history: do not ask Rasa for it (that would start its session
      // without the shopper's metadata).
      : newSession().then(function () { renderHistory([]); });
    ready.catch(function () {
      if (!ui.log.firstChild) renderHistory([]);
    }).then(function () {
      if (!state.sessionId) return;
      pendingBeforeSession.splice(0).forEach(function (item) { sendMessage(item.text, item); });
      connectSocket();
      connectLive();
    });
  }

  window.__shopbotWidget = {
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, true); },
    send: function (text) { sendMessage(text, {}); },
    state: state
  };

  if (!document.querySelector('link[data-shopbot-css]')) {
    var css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = (config.serverUrl || scriptOrigin) + "/widget.css";
    css.setAttribute("data-shopbot-css", "");
    document.head.appendChild(css);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
