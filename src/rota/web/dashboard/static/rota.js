// rota's dashboard: live regions, confirmations, auto-submitted filters, copy buttons.
// Hand-written, no dependency. Pages work without it; with it, they update on their own.
"use strict";

(function () {
  const every = Number(document.body.dataset.liveEvery || 3000);
  let timer = null;
  let stopped = false;

  function replaceRegions(html) {
    const fresh = new DOMParser().parseFromString(html, "text/html");
    document.querySelectorAll("[data-live]").forEach(function (region) {
      const name = region.getAttribute("data-live");
      const next = fresh.querySelector('[data-live="' + CSS.escape(name) + '"]');
      if (!next || region.contains(document.activeElement) && document.activeElement !== document.body) {
        return;
      }
      if (region.innerHTML !== next.innerHTML) {
        region.innerHTML = next.innerHTML;
      }
    });
  }

  function say(text) {
    let box = document.getElementById("live-problem");
    if (!box) {
      box = document.createElement("p");
      box.id = "live-problem";
      box.className = "notice";
      box.setAttribute("role", "status");
      document.querySelector("main").prepend(box);
    }
    box.textContent = text;
  }

  async function refresh() {
    if (stopped || document.hidden || !document.querySelector("[data-live]")) {
      return;
    }
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { "X-Rota-Live": "1" },
        cache: "no-store",
      });
      if (response.status === 401) {
        stopped = true;
        say("Your session has ended: reload the page to log in again.");
        return;
      }
      if (response.ok) {
        replaceRegions(await response.text());
        const problem = document.getElementById("live-problem");
        if (problem) {
          problem.remove();
        }
      }
    } catch (err) {
      say("The server does not answer; retrying.");
    }
  }

  function schedule() {
    clearInterval(timer);
    timer = null;
    if (!document.hidden && document.querySelector("[data-live]")) {
      timer = setInterval(refresh, every);
    }
  }

  document.addEventListener("visibilitychange", function () {
    schedule();
    if (!document.hidden) {
      refresh();
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // A filter picked with the mouse applies at once. One picked with the keyboard waits for
  // "Apply filters": the arrow keys change a closed select's value, and reloading the list at
  // each step would lose the keyboard's place.
  document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
    let byKeyboard = false;
    select.addEventListener("keydown", function () { byKeyboard = true; });
    select.addEventListener("pointerdown", function () { byKeyboard = false; });
    select.addEventListener("change", function () {
      if (!byKeyboard) {
        select.form.requestSubmit();
      }
    });
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    const source = document.getElementById(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select the text to copy"; }
      );
    }
  });

  schedule();
})();
