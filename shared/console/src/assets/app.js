// Pivota console: progressive enhancements. Every page works without this script.
"use strict";

// Live regions: an element with data-poll is refreshed from that URL every second until the server's
// fragment no longer carries data-poll (the KYC decision is in, the sync has finished).
function poll(element) {
  const url = element.getAttribute("data-poll");
  if (!url) return;
  setTimeout(async () => {
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { accept: "text/html" } });
      if (response.redirected || !response.ok) return;
      const template = document.createElement("template");
      template.innerHTML = (await response.text()).trim();
      const fresh = template.content.firstElementChild;
      if (!fresh) return;
      element.innerHTML = fresh.innerHTML;
      if (fresh.hasAttribute("data-poll")) {
        element.setAttribute("data-poll", fresh.getAttribute("data-poll"));
      } else {
        element.removeAttribute("data-poll");
      }
    } catch (_) {
      // The network hiccuped: try again on the next tick.
    }
    poll(element);
  }, 1000);
}

// Inline validation: a field's own constraints (required, type, pattern) are checked as the user leaves
// it, and the message shows in the field's error slot; it clears as soon as the value is fixed (while
// typing, so the layout never moves under a click on the submit button). The server checks everything
// again.
function validateInline(form) {
  const slotOf = (input) => input instanceof HTMLInputElement && input.id && document.getElementById(input.id + "-error");
  form.addEventListener("focusout", (event) => {
    const slot = slotOf(event.target);
    if (slot && !event.target.checkValidity()) {
      event.target.setAttribute("aria-invalid", "true");
      slot.textContent = event.target.validationMessage;
    }
  });
  form.addEventListener("input", (event) => {
    const slot = slotOf(event.target);
    if (slot && event.target.checkValidity() && event.target.hasAttribute("aria-invalid")) {
      event.target.removeAttribute("aria-invalid");
      slot.textContent = "";
    }
  });
}

// Copy buttons: data-copy names the input whose value to copy.
function copyButton(button) {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.getAttribute("data-copy"));
    const status = button.closest(".reveal")?.querySelector("[data-copy-status]");
    try {
      await navigator.clipboard.writeText(source.value);
      if (status) status.textContent = "Copied to the clipboard.";
    } catch (_) {
      source.select();
      if (status) status.textContent = "Selected: press Ctrl+C (or ⌘C) to copy.";
    }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-poll]").forEach(poll);
  document.querySelectorAll("form[data-validate]").forEach(validateInline);
  document.querySelectorAll("button[data-copy]").forEach(copyButton);
});
