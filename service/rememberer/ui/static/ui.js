// The inspector's one script (no library): the retrieve playground re-ranks while the λ
// slider moves. It fetches the same page with the new λ and swaps in its results, which the
// server rendered (and escaped); nothing here builds markup from text.
"use strict";

function setUpPlayground() {
  const form = document.getElementById("retrieve-form");
  const slider = document.getElementById("lambda");
  const shown = document.getElementById("lambda-value");
  if (!form || !slider || !shown) {
    return;
  }
  let pending = null;
  let latest = 0;

  async function refresh() {
    const ticket = ++latest;
    const query = new URLSearchParams(new FormData(form));
    const results = document.getElementById("results");
    results.classList.add("loading");
    try {
      const answer = await fetch(form.action + "?" + query.toString(), {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById("results");
      if (ticket === latest && fresh) {
        results.replaceWith(document.importNode(fresh, true));
        history.replaceState(null, "", form.action + "?" + query.toString());
      }
    } finally {
      const current = document.getElementById("results");
      if (current) {
        current.classList.remove("loading");
      }
    }
  }

  slider.addEventListener("input", () => {
    shown.textContent = Number(slider.value).toFixed(2);
    const task = document.getElementById("task");
    const observation = document.getElementById("observation");
    if (!task.value || !observation.value) {
      return;
    }
    clearTimeout(pending);
    pending = setTimeout(refresh, 120);
  });
}

document.addEventListener("DOMContentLoaded", setUpPlayground);
