// The sandbox pages take the Lark client look (loaded at the top of <body>).
document.body.classList.add("lk-body");

// A chat opens at its newest message, as Lark's does; a refresh that brings new messages
// follows them only when the reader was already at the bottom (not while reading back).
(function () {
  function newest() {
    const list = document.getElementById("messages");
    return list ? list.lastElementChild : null;
  }
  function atBottom() {
    const list = document.getElementById("messages");
    if (!list) return true;
    const box = list.getBoundingClientRect();
    const inner = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    return inner && box.bottom <= window.innerHeight + 40;
  }
  function showNewest() {
    const last = newest();
    if (last) last.scrollIntoView({ block: "end" });
  }
  let follow = null;  // set just before the conversation is swapped for a fresh one
  document.addEventListener("DOMContentLoaded", showNewest);
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.target && event.detail.target.id === "conversation") follow = atBottom();
  });
  document.addEventListener("htmx:afterSwap", () => {
    if (follow) showNewest();
    follow = null;
  });
})();

// Like Lark, a message's time shows in the device's time zone, with its offset.
(function () {
  "use strict";
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function offset(date) {
    var minutes = -date.getTimezoneOffset();
    if (minutes === 0) return "UTC";
    var sign = minutes > 0 ? "+" : "-";
    var abs = Math.abs(minutes);
    return "UTC" + sign + Math.floor(abs / 60) + (abs % 60 ? ":" + pad(abs % 60) : "");
  }
  function localise(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var date = new Date(el.getAttribute("datetime"));
      if (isNaN(date.getTime())) return;
      el.textContent = pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " +
        pad(date.getHours()) + ":" + pad(date.getMinutes()) + " " + offset(date);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSettle", function (event) { localise(event.target); });
})();
