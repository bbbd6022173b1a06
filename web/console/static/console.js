// Small conveniences for every console page (no inline scripts: the CSP forbids them).
(function () {
  "use strict";
  // Open the review panel of the message named in the URL fragment (#e123).
  if (location.hash && /^#e\d+$/.test(location.hash)) {
    var el = document.getElementById(location.hash.slice(1));
    if (el) { el.scrollIntoView(); }
  }
  // Heartbeat: keeps this agent counted as online for the assistant's handoff offer.
  var base = document.querySelector('meta[name="console-base"]');
  if (base && document.querySelector('meta[name="csrf-token"]').content) {
    setInterval(function () {
      fetch(base.content + "/api/me", { credentials: "same-origin" }).catch(function () {});
    }, 45000);
  }
  // Ask before revealing personal data.
  document.querySelectorAll("form.reveal").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (!window.confirm("Reveal personal data? This is written to the audit log.")) { ev.preventDefault(); }
    });
  });
})();
