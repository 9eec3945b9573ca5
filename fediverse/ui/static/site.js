// A little help for the pages; every one of them works without this file.
// - like and boost without leaving the page
// - ask before deleting
// - a character counter, and the article title only for articles
// - a preview and a size check for profile pictures
// - the account menu closes on Escape or a click elsewhere
"use strict";

function setupToggles() {
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (!form.classList.contains("toggle")) return;
    event.preventDefault();
    const button = form.querySelector("button");
    const kind = form.dataset.kind;
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const state = await response.json();
      const on = kind === "like" ? state.liked : state.boosted;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.querySelector(".count").textContent = String(kind === "like" ? state.likes : state.boosts);
      form.setAttribute("action", form.getAttribute("action").replace(/\/(un)?(like|boost)$/, `/${on ? "un" : ""}${kind}`));
      button.disabled = false;
    } catch (error) {
      // Let the server answer in full (it shows what went wrong).
      button.disabled = false;
      HTMLFormElement.prototype.submit.call(form);
    }
  });
}

function setupCompose() {
  for (const form of document.querySelectorAll("form.compose")) {
    const text = form.querySelector("textarea[name=text]");
    const counter = form.querySelector(".counter");
    const kinds = form.querySelectorAll("input[name=kind]");
    const articleOnly = form.querySelectorAll(".article-only");
    const noteLimit = Number(form.dataset.limit) || 5000;
    const update = () => {
      const article = Array.from(kinds).some((input) => input.checked && input.value === "article");
      for (const element of articleOnly) element.hidden = !article;
      if (!counter || !text) return;
      const left = (article ? 100000 : noteLimit) - text.value.length;
      counter.textContent = left >= 0
        ? `${left.toLocaleString()} characters left`
        : `${(-left).toLocaleString()} characters too many`;
      counter.classList.toggle("over", left < 0);
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }
}

function setupImages() {
  const form = document.querySelector("form[data-upload-limit]");
  if (!form) return;
  const limit = Number(form.dataset.uploadLimit);
  for (const input of form.querySelectorAll("input[type=file]")) {
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      input.setCustomValidity("");
      if (!file) return;
      if (file.size > limit) {
        const megabytes = (limit / 1048576).toFixed(1);
        input.setCustomValidity(`This image is too large; choose one under ${megabytes} MB.`);
        input.reportValidity();
        return;
      }
      let preview = form.querySelector(`[data-preview-for="${input.name}"]`);
      if (!preview) return;
      if (preview.tagName !== "IMG") {
        const image = document.createElement("img");
        image.className = preview.className;
        image.alt = "";
        image.dataset.previewFor = input.name;
        preview.replaceWith(image);
        preview = image;
      }
      const reader = new FileReader();
      reader.addEventListener("load", () => { preview.src = String(reader.result); });
      reader.readAsDataURL(file);
    });
  }
}

function setupMenu() {
  const menu = document.querySelector("details.menu");
  if (!menu) return;
  document.addEventListener("click", (event) => {
    if (menu.open && !menu.contains(event.target)) menu.open = false;
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && menu.open) {
      menu.open = false;
      menu.querySelector("summary").focus();
    }
  });
}

function setupCopyFields() {
  for (const field of document.querySelectorAll("input[data-copy]")) {
    field.addEventListener("focus", () => field.select());
  }
}

setupToggles();
setupCompose();
setupImages();
setupMenu();
setupCopyFields();
