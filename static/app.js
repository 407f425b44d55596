// Small glue for htmx: CSRF on every request, toasts from HX-Trigger, polling only when visible.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  function showToast(message, kind) {
    var region = document.getElementById("toasts");
    if (!region || !message) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (kind || "info");
    toast.setAttribute("role", kind === "error" ? "alert" : "status");
    toast.textContent = message;
    region.appendChild(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  }
  window.appToast = showToast;
  // The server sends HX-Trigger: {"toast": {"message": "...", "kind": "success"}}
  document.body.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    if (detail.inline) return;  // the swapped row says it, where it happened
    showToast(detail.message, detail.kind);
  });
  // A refused htmx request still swaps its body (the current state); say so.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 409 || status === 403 || status === 422 || status === 400) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:sendError", function () {
    showToast(document.body.dataset.offlineMessage || "Network error", "error");
  });
  // Copy buttons: <button data-copy="#input-id" data-copied="Copied">. The input stays
  // selectable, so copying by hand works without JavaScript or clipboard rights.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    var done = function () { showToast(button.getAttribute("data-copied") || "Copied", "success"); };
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(done, function () {
        if (document.execCommand("copy")) done();
      });
    } else if (document.execCommand("copy")) {
      done();
    }
  });
})();

// An avatar that fails to load goes away, leaving the initials under it (no inline
// onerror: the Content-Security-Policy allows only these files to run).
(function () {
  function drop(img) { if (img.complete && img.naturalWidth === 0) img.remove(); }
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (img && img.hasAttribute && img.hasAttribute("data-drop-on-error")) img.remove();
  }, true);
  document.querySelectorAll("img[data-drop-on-error]").forEach(drop);
})();
