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
