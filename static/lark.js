// The account menu closes on Escape and on a click elsewhere, like Lark's own menus.
document.addEventListener("click", function (event) {
  var menu = document.getElementById("lk-menu");
  if (menu && menu.open && !menu.contains(event.target)) menu.open = false;
});
document.addEventListener("keydown", function (event) {
  var menu = document.getElementById("lk-menu");
  if (event.key === "Escape" && menu && menu.open) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});

// The device's time zone, which the Lark client runs in: the server uses it for this member
// until they choose one in Settings (webapp/identity/timezones.py).
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) {
      document.cookie = "lk_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* an old client without the Intl API: the integration's zone applies */ }
})();
