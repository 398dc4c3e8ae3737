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

// A dialog swapped into #dialog-slot (Activer mon contrat...) opens as a modal; Escape or the
// close button closes it and the slot is emptied so the next open starts fresh.
document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target.id !== "dialog-slot") return;
  const dialog = event.detail.target.querySelector("dialog");
  if (!dialog) return;
  dialog.addEventListener("close", () => { event.detail.target.replaceChildren(); });
  dialog.showModal();
  const field = dialog.querySelector("input:not([type=hidden])");
  if (field) field.focus();
});
