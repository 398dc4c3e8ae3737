// Small behaviours that htmx attributes do not cover. Loaded as a file: the CSP forbids inline script.
"use strict";

document.documentElement.classList.add("js");

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["x-csrftoken"] || "";
  } catch (error) {
    return "";
  }
}

// A part swapped in as a new page (its URL pushed) names itself: the server sends its title.
document.addEventListener("page-title", (event) => {
  if (event.detail && event.detail.value) document.title = event.detail.value;
});

// After htmx swaps in a page part, move focus where a keyboard or screen-reader user expects it:
// the first refused field, else the part's main heading. An outerHTML swap has replaced the
// target by then, so it is found again by its id; focus already inside the part stays put
// (htmx restores it to an element with the same id, a tab link for instance).
document.addEventListener("htmx:afterSettle", (event) => {
  let target = event.detail && event.detail.target;
  if (!target || target === document.body || target.id === "dialog-slot") return;
  if (!target.isConnected && target.id) target = document.getElementById(target.id);
  if (!target || !target.isConnected) return;
  if (target.contains(document.activeElement) && document.activeElement !== target) return;
  const focusable = target.querySelector("[aria-invalid=true]") || target.querySelector("h1, h2");
  if (!focusable) return;
  if (!focusable.matches("input, select, textarea, button, a[href]")) focusable.setAttribute("tabindex", "-1");
  focusable.focus({ preventScroll: false });
});

// A dialog swapped into #dialog-slot (Activer mon contrat...) opens as a modal; Escape or the
// close button closes it and the slot is emptied so the next open starts fresh.
document.addEventListener("htmx:afterSwap", (event) => {
  const slot = event.detail && event.detail.target;
  if (!slot || slot.id !== "dialog-slot") return;
  const dialog = slot.querySelector("dialog");
  if (!dialog) return;
  dialog.addEventListener("close", () => { slot.replaceChildren(); });
  dialog.showModal();
  const field = dialog.querySelector("input:not([type=hidden])");
  if (field) field.focus();
});

// File drop zones: every file dropped or picked uploads at once, with its own progress bar and
// a way to take it back. Files over the limit are refused here, before sending (the server
// refuses them too). Without JavaScript the file input is posted with its form instead.
const Uploads = {
  tooBig: "Le fichier dépasse la taille maximale de 20 Mo.",

  init(root) {
    root.querySelectorAll(".dropzone[data-upload-url]:not([data-ready])").forEach((zone) => {
      zone.dataset.ready = "1";
      const input = zone.querySelector("input[type=file]");
      input.multiple = true;
      input.addEventListener("change", () => {
        Uploads.sendAll(zone, input.files);
        input.value = "";
      });
      zone.addEventListener("dragover", (event) => {
        event.preventDefault();
        zone.classList.add("is-dragging");
      });
      zone.addEventListener("dragleave", () => zone.classList.remove("is-dragging"));
      zone.addEventListener("drop", (event) => {
        event.preventDefault();
        zone.classList.remove("is-dragging");
        Uploads.sendAll(zone, event.dataTransfer.files);
      });
    });
  },

  sendAll(zone, files) {
    zone.querySelector(".error").textContent = "";
    Array.from(files).forEach((file) => Uploads.send(zone, file));
  },

  send(zone, file) {
    const list = document.getElementById(zone.dataset.list);
    const item = document.createElement("li");
    item.className = "file is-uploading";
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = file.name;
    const progress = document.createElement("progress");
    progress.max = 100;
    progress.value = 0;
    progress.setAttribute("aria-label", "Envoi de " + file.name);
    const status = document.createElement("span");
    status.className = "file-meta";
    status.setAttribute("aria-live", "polite");
    item.append(name, progress, status);
    list.append(item);

    if (file.size > Number(zone.dataset.maxBytes)) {
      Uploads.fail(item, progress, status, Uploads.tooBig);
      return;
    }
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "link-button";
    cancel.textContent = "Annuler";
    item.append(cancel);

    const body = new FormData();
    body.append("file", file);
    const request = new XMLHttpRequest();
    request.open("POST", zone.dataset.uploadUrl);
    request.setRequestHeader("x-csrftoken", csrfToken());
    request.setRequestHeader("HX-Request", "true");
    cancel.addEventListener("click", () => { request.abort(); item.remove(); });
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) {
        progress.value = Math.round((event.loaded / event.total) * 100);
        status.textContent = progress.value + " %";
      }
    });
    request.addEventListener("load", () => {
      if (request.status === 201) {
        const template = document.createElement("template");
        template.innerHTML = request.responseText.trim();
        const row = template.content.firstElementChild;
        item.replaceWith(row);
        if (window.htmx) window.htmx.process(row);
      } else {
        const holder = document.createElement("div");
        holder.innerHTML = request.responseText;
        const message = request.status === 413 ? Uploads.tooBig
          : (holder.textContent.trim() || "L'envoi du fichier a échoué.");
        Uploads.fail(item, progress, status, message);
        cancel.remove();
      }
    });
    request.addEventListener("error", () => {
      Uploads.fail(item, progress, status, "L'envoi a été interrompu : vérifiez votre connexion et réessayez.");
      cancel.remove();
    });
    request.send(body);
  },

  fail(item, progress, status, message) {
    item.classList.remove("is-uploading");
    item.classList.add("is-error");
    progress.remove();
    status.textContent = message;
    status.classList.add("error");
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "link-button";
    dismiss.textContent = "Fermer";
    dismiss.addEventListener("click", () => item.remove());
    item.append(dismiss);
  },
};

document.addEventListener("DOMContentLoaded", () => Uploads.init(document));
document.addEventListener("htmx:load", (event) => Uploads.init(event.detail.elt));

// The notification panel slides in from the right; the close button, Escape or a second click on
// the bell put it away (the server keeps nothing about it being open).
function closeNotificationPanel() {
  const panel = document.getElementById("notification-panel");
  if (!panel || panel.hidden) return false;
  const empty = document.createElement("div");
  empty.id = "notification-panel";
  empty.hidden = true;
  panel.replaceWith(empty);
  const bell = document.querySelector(".bell");
  if (bell) bell.focus();
  return true;
}

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-close-panel]")) {
    closeNotificationPanel();
    return;
  }
  const bell = event.target.closest(".bell");
  if (bell && closeNotificationPanel()) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeNotificationPanel();
});

// A notification arriving on the stream tells the page, so lists that show live data (the
// reseller's queue) refresh themselves: hx-trigger="notification-arrived from:body".
document.addEventListener("htmx:sseMessage", (event) => {
  if (event.detail && event.detail.type === "notification") {
    document.body.dispatchEvent(new CustomEvent("notification-arrived"));
  }
});

// Whether the live channel is up, readable by styles and by the browser tests.
document.addEventListener("htmx:sseOpen", () => { document.documentElement.dataset.live = "on"; });
document.addEventListener("htmx:sseError", () => { document.documentElement.dataset.live = "off"; });

// Removing an article row of the reseller's contract form: focus goes to "Ajouter un article",
// not back to the top of the page.
document.addEventListener("htmx:beforeSwap", (event) => {
  const row = event.detail && event.detail.target;
  if (!row || !row.matches || !row.matches("fieldset.article-row")) return;
  const list = row.closest(".article-list");
  const add = list && list.querySelector(":scope > .button");
  if (add) setTimeout(() => add.focus(), 0);
});
