// The incident list's refresh: keep what the member selected, skip a refresh while they are
// in the middle of something, and mark the rows that changed since the last one.
(function () {
  "use strict";
  var snapshot = null;

  function list() { return document.getElementById("incident-list"); }

  function busy(el) {
    if (el.querySelector("details[open]")) return true;
    var active = document.activeElement;
    return !!(active && el.contains(active) &&
      active.matches("select, textarea, input:not([type=checkbox]):not([type=hidden])"));
  }

  function remember(el, isRefresh) {
    var state = { versions: {}, checked: [], refresh: isRefresh };
    el.querySelectorAll("tr[data-version]").forEach(function (row) {
      state.versions[row.id] = row.getAttribute("data-version");
    });
    el.querySelectorAll("input[name=ids]:checked").forEach(function (box) {
      var row = box.closest("tr");
      if (row) state.checked.push(row.id);
    });
    return state;
  }

  function mark(row, label) {
    row.classList.add("inc-changed");
    var title = row.querySelector(".inc-title");
    if (title && !title.querySelector(".inc-updated")) {
      var tag = document.createElement("span");
      tag.className = "inc-updated";
      tag.textContent = label;
      title.appendChild(tag);
    }
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var el = list();
    if (!el || event.detail.target !== el) return;
    var isRefresh = !!(event.detail.requestConfig && event.detail.requestConfig.elt === el);
    if (isRefresh && busy(el)) {
      event.detail.shouldSwap = false;  // try again at the next refresh
      return;
    }
    snapshot = remember(el, isRefresh);
    var elt = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (elt && elt.id === "bulk-form") snapshot.checked = [];  // acted on: start afresh
  });

  document.body.addEventListener("htmx:afterSettle", function () {
    var el = list();
    if (!el || !snapshot) return;
    var before = snapshot;
    snapshot = null;
    var label = el.getAttribute("data-changed-label") || "Updated";
    el.querySelectorAll("tr[data-version]").forEach(function (row) {
      if (before.refresh && before.versions[row.id] !== row.getAttribute("data-version")) {
        mark(row, label);
      }
      if (before.checked.indexOf(row.id) >= 0) {
        var box = row.querySelector("input[name=ids]");
        if (box) box.checked = true;
      }
    });
  });
})();

// "More" closes like Lark's own menus: a tap outside it (on the dimmed page) or Escape.
(function () {
  "use strict";
  function openMenus() { return document.querySelectorAll("details.inc-menu[open]"); }
  document.addEventListener("click", function (event) {
    openMenus().forEach(function (menu) {
      var panel = menu.querySelector(".inc-menu-panel");
      var summary = menu.querySelector("summary");
      if (!panel.contains(event.target) && !summary.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });
})();
