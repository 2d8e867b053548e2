// The kiosk's only script: keypad, keyboard and card reader, idle timer, receipt printing, double-tap guard, offline banner, heartbeat.
// Everything it does the server also enforces; it only makes the screen pleasant to use.
(function () {
  "use strict";
  var body = document.body;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;

  function post(url) {
    return fetch(url, { method: "POST", headers: { "X-CSRFToken": csrf }, credentials: "same-origin" });
  }

  // A kiosk's heartbeat: the terminals dashboard shows when it was last heard from. A browser
  // printing its receipts cannot tell its printer's state, so it reports none.
  if (body.dataset.heartbeatUrl) setInterval(function () { post(body.dataset.heartbeatUrl).catch(function () {}); }, 60000);

  // The ID field. Taps on the keypad append to it; so do a keyboard's keys, wherever the focus
  // is on the identify screen (a card reader or scanner types into whatever has it). A reader
  // types a burst (keys under BURST_MS apart) that replaces the field; and after an error the
  // first key replaces the old number (it is selected to show this), while Delete corrects it.
  // A reader's keys may stall part-way (a busy machine, a USB hiccup): a run of keys that starts
  // within STALL_MS of the last key carries on from what was typed before it, so the burst after
  // the stall does not throw the first characters of the same number away.
  var MAX_ID = 18, BURST_MS = 50, STALL_MS = 300, ENTER_AFTER_MS = 1500;
  function idField() { return document.getElementById("id_number"); }
  function idLength(value) { return value.replace(/[\s-]/g, "").length; }
  function markForReplacing(field) {
    if (!field || field.getAttribute("aria-invalid") !== "true") return;
    field.dataset.replace = "yes";
    field.focus();
    field.select();
  }
  function put(field, value) {
    field.value = value;
    field.focus();
    field.setSelectionRange(value.length, value.length);
  }
  document.addEventListener("click", function (event) {
    var key = event.target.closest("[data-key]");
    if (!key) return;
    var pad = key.closest("[data-keypad-for]");
    var input = document.getElementById(pad.dataset.keypadFor);
    var replace = input.dataset.replace;
    delete input.dataset.replace;
    var value = input.value;
    if (key.dataset.key === "back") value = value.slice(0, -1);
    else if (key.dataset.key === "clear") value = "";
    else if (replace) value = key.dataset.key;
    else if (idLength(value) < MAX_ID) value += key.dataset.key;
    put(input, value);
  });
  document.addEventListener("htmx:afterSwap", function () {
    var input = idField();
    if (input) input.focus();
    markForReplacing(input);
    // a result the server has just worked out (the calculator's, a new base's amount) is brought
    // into sight: in large text it can be below the screen's bottom edge
    var result = document.querySelector(".result[role=status], .preview");
    if (result) result.scrollIntoView({ block: "nearest" });
  });
  markForReplacing(idField());
  document.addEventListener("pointerdown", function (event) {
    if (event.target.id === "id_number") delete event.target.dataset.replace;  // placing the caret by hand
  });

  // a run of ID characters typed from a keyboard or reader: {text, at, burst, before}; ``before``
  // is what the run carries on from (the field's value, or on the attract screen the last run's
  // text, when it starts within STALL_MS of the last key; else nothing)
  var typed = null;
  document.addEventListener("keydown", function (event) {
    var field = idField(), scan = document.getElementById("scan-start");
    if ((!field && !scan) || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var now = performance.now();
    if (event.key === "Enter") {
      var fresh = typed && now - typed.at < ENTER_AFTER_MS;
      if (field && (event.target === field || fresh)) {
        event.preventDefault();  // as the field's own Enter would (htmx posts it), also from elsewhere
        field.form.requestSubmit();
      } else if (!field && fresh && typed.burst && idLength(typed.before + typed.text) >= 15) {
        // the attract screen: a card read starts the service with its number (in the POST body)
        event.preventDefault();
        scan.elements.id_number.value = typed.before + typed.text;
        scan.requestSubmit();
      }
      typed = null;
      return;
    }
    if (field && event.key === "Backspace" && event.target === field && field.dataset.replace) {
      event.preventDefault();  // after an error, Delete corrects the last character, as on the keypad
      delete field.dataset.replace;
      put(field, field.value.slice(0, -1));
      return;
    }
    var character = event.key.length === 1 ? event.key.toUpperCase() : "";
    if (!/^[0-9X]$/.test(character)) {
      if (character === " " || character === "-") { if (event.target === field) event.preventDefault(); }  // a reader's separators
      else if (character) typed = null;
      return;
    }
    var fast = typed !== null && now - typed.at < BURST_MS;
    if (fast) {
      typed = { text: typed.text + character, at: now, burst: true, before: typed.before };
    } else {
      var stalled = typed !== null && now - typed.at < STALL_MS;
      var before = !stalled ? "" : field ? (field.dataset.replace ? "" : field.value) : typed.before + typed.text;
      typed = { text: character, at: now, burst: false, before: before };
    }
    if (!field) return;
    event.preventDefault();
    if (typed.burst) {
      put(field, (typed.before + typed.text).slice(0, MAX_ID));  // a reader's number replaces whatever was there
    } else if (field.dataset.replace) {
      put(field, character);
    } else if (event.target === field && field.selectionStart !== field.selectionEnd) {
      field.setRangeText(character, field.selectionStart, field.selectionEnd, "end");  // typed over a selection
    } else if (idLength(field.value) < MAX_ID) {
      if (event.target === field) field.setRangeText(character, field.selectionStart, field.selectionEnd, "end");
      else put(field, field.value + character);
    }
    delete field.dataset.replace;
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

  // "More below": while the page goes on past the screen's bottom edge (a long list), say so; at the
  // bottom it goes. A tap scrolls down most of a screen. It sits above a checkout bar kept at the bottom.
  var more = document.getElementById("more-below");
  function placeMoreBelow() {
    var hidden = document.documentElement.scrollHeight - (window.scrollY + window.innerHeight) <= 8;
    var bar = document.getElementById("checkout-bar");
    var inset = 0;
    if (bar) {
      var box = bar.getBoundingClientRect();
      if (box.bottom >= window.innerHeight - 1 && box.top > window.innerHeight / 2) inset = box.height;
    }
    more.style.bottom = (inset + 16) + "px";
    more.hidden = hidden;
  }
  if (more) {
    more.addEventListener("click", function () {
      window.scrollBy({ top: Math.round(window.innerHeight * 0.6), behavior: "smooth" });
    });
    ["scroll", "resize", "load"].forEach(function (name) { window.addEventListener(name, placeMoreBelow, { passive: true }); });
    document.addEventListener("htmx:afterSettle", placeMoreBelow);
    new ResizeObserver(placeMoreBelow).observe(document.body);
    placeMoreBelow();
  }

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
