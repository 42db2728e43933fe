// The console's own behaviour, on top of htmx: pause/resume of the live streams,
// the SLA countdowns, and a bound on the cards each column keeps.
(function () {
  "use strict";
  const MAX_CARDS = 100;   // per column: older cards leave the page (they stay in the history)
  const MAX_HELD = 500;    // cards kept while paused; beyond, the oldest are dropped
  let paused = false;
  let held = [];
  let dropped = 0;

  function heldText() {
    const n = held.length + dropped;
    return paused ? "paused — " + n + " new message" + (n === 1 ? "" : "s") + " waiting" : "";
  }

  function trim(list) {
    while (list.children.length > MAX_CARDS) list.lastElementChild.remove();
  }

  // While paused, live cards are held instead of shown.
  document.addEventListener("htmx:sseBeforeMessage", function (evt) {
    const type = evt.detail.type || "";
    if (!paused || !type.startsWith("col-")) return;
    evt.preventDefault();
    held.push({ elt: evt.target, data: evt.detail.data });
    if (held.length > MAX_HELD) { held.shift(); dropped += 1; }
    document.getElementById("held").textContent = heldText();
  });

  document.addEventListener("htmx:sseMessage", function (evt) {
    if (evt.target.classList && evt.target.classList.contains("cards")) trim(evt.target);
  });

  function resume() {
    const waiting = held;
    held = [];
    dropped = 0;
    for (const item of waiting) {
      if (!document.body.contains(item.elt)) continue;  // its column was replaced since
      htmx.swap(item.elt, item.data, { swapStyle: "afterbegin" });
      trim(item.elt);
    }
  }

  function countdown(seconds) {
    const span = Math.abs(Math.trunc(seconds));
    const hours = Math.floor(span / 3600);
    const minutes = Math.floor((span % 3600) / 60);
    const secs = span % 60;
    const text = hours ? hours + " h " + String(minutes).padStart(2, "0")
                       : minutes + ":" + String(secs).padStart(2, "0");
    return seconds >= 0 ? text + " left" : "breached " + text + " ago";
  }

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("time[data-due]")) {
      const left = (Date.parse(el.dataset.due) - now) / 1000;
      el.textContent = countdown(left);
      el.classList.toggle("breached", left < 0);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const button = document.getElementById("pause");
    button.addEventListener("click", function () {
      paused = !paused;
      button.textContent = paused ? "Resume" : "Pause";
      button.setAttribute("aria-pressed", String(paused));
      if (!paused) resume();
      document.getElementById("held").textContent = heldText();
    });
    setInterval(tick, 1000);
  });
})();
