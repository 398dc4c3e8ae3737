// Small behaviours that htmx attributes do not cover. Loaded as a file: the CSP forbids inline script.
"use strict";

// After htmx swaps in a page part, move focus to its main heading so screen readers announce it.
document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.target;
  if (!target || target === document.body) return;
  const heading = target.querySelector("h1, h2");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: false });
  }
});
