// The kiosk's only script: keypad, idle timer, receipt printing, double-tap guard, offline banner.
// Everything it does the server also enforces; it only makes the screen pleasant to use.
(function () {
  "use strict";
  var body = document.body;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function post(url) {
    return fetch(url, { method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
  }

  // Keypad: taps append to the ID input; a physical keyboard or a scanner types into it directly.
  document.addEventListener("click", function (event) {
    var key = event.target.closest("[data-key]");
    if (!key) return;
    var pad = key.closest("[data-keypad-for]");
    var input = document.getElementById(pad.dataset.keypadFor);
    var value = input.value;
    if (key.dataset.key === "back") value = value.slice(0, -1);
    else if (key.dataset.key === "clear") value = "";
    else if (value.replace(/\s/g, "").length < 18) value += key.dataset.key;
    input.value = value;
    input.focus();
  });
  document.addEventListener("htmx:afterSwap", function () {
    var input = document.getElementById("id_number");
    if (input) input.focus();
  });
  // Until this script has run, a tap on the keypad does nothing; say when it will count.
  document.documentElement.dataset.ready = "yes";

  // A second tap on a submit button does nothing (the server would give the same order anyway).
  document.addEventListener("submit", function (event) {
    if (!event.target.hasAttribute("data-once")) return;
    setTimeout(function () {
      // form.elements includes a submit button placed outside the form with form="..."
      Array.prototype.forEach.call(event.target.elements, function (b) { if (b.type === "submit") b.disabled = true; });
    }, 0);
  });

  // Offline: say so, keep polling; htmx retries on its own trigger. A poll answered
  // 204 (nothing changed, nothing swapped) is a success: the connection is back.
  var offline = document.getElementById("offline");
  document.addEventListener("htmx:sendError", function () { offline.hidden = false; });
  document.addEventListener("htmx:afterRequest", function (event) { if (event.detail.successful) offline.hidden = true; });

  // The server draws the countdown with the page and after each poll that asked the provider;
  // the polls between answer 204 (nothing to swap) or fail, and it keeps counting here.
  var shownCountdown = null, shownAt = 0;
  setInterval(function () {
    var countdown = document.getElementById("countdown");
    if (!countdown || !countdown.dataset.remaining) return;
    if (countdown !== shownCountdown) { shownCountdown = countdown; shownAt = Date.now(); return; }
    var left = Math.max(0, Number(countdown.dataset.remaining) - Math.round((Date.now() - shownAt) / 1000));
    countdown.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
  }, 1000);

  if (body.dataset.autoPrint) window.addEventListener("load", function () { window.print(); });

  // Idle: a warning with Continue, then the server destroys the session and the attract screen returns.
  if (body.dataset.idle !== "on") return;
  var idleMs = Number(body.dataset.idleSeconds) * 1000;
  var warnSeconds = Number(body.dataset.idleWarningSeconds);
  var dialog = document.getElementById("idle-dialog");
  var countdown = document.getElementById("idle-countdown");
  var idleTimer = null, warnTimer = null, left = 0;

  function endSession() {
    post(body.dataset.endUrl).finally(function () { window.location.replace(body.dataset.homeUrl + "?ended=1"); });
  }
  function tick() {
    left -= 1;
    countdown.textContent = String(left);
    if (left <= 0) { clearInterval(warnTimer); endSession(); }
  }
  // while the warning shows, the page behind it can be neither read (the overlay is opaque) nor
  // reached: it is inert, so focus and taps stay in the dialog
  function behind(inert) {
    Array.prototype.forEach.call(body.children, function (element) {
      if (element !== dialog) element.inert = inert;
    });
  }
  function warn() {
    left = warnSeconds;
    countdown.textContent = String(left);
    behind(true);
    dialog.hidden = false;
    document.getElementById("idle-continue").focus();
    warnTimer = setInterval(tick, 1000);
  }
  function stillHere() {
    clearInterval(warnTimer);
    dialog.hidden = true;
    behind(false);
    post(body.dataset.continueUrl);
    activity();
  }
  var lastHeard = Date.now();
  function activity() {
    if (!dialog.hidden) return;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(warn, idleMs);
    // keypad taps never reach the server, which forgets a visit it has not heard from:
    // tell it now and then that someone is still here
    if (Date.now() - lastHeard >= idleMs / 2) {
      lastHeard = Date.now();
      post(body.dataset.continueUrl);
    }
  }
  // any tap or key while the warning shows is an answer: someone is here (Continue is only the biggest target)
  ["pointerdown", "keydown"].forEach(function (name) {
    dialog.addEventListener(name, function (event) {
      if (dialog.hidden) return;
      event.preventDefault();
      stillHere();
    });
  });
  ["pointerdown", "keydown", "touchstart"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });
  activity();
})();
