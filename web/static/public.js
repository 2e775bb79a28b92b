// The public form and the printable pages: a print button for those who have JavaScript
// (without it the browser's own print command does the same; the button stays hidden).
// With JavaScript, the category's questions follow the choice (htmx), so its 更新问题 button
// goes: removed rather than hidden, so that Enter in a field still submits the application.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  if (window.htmx) {
    document.querySelectorAll("[data-refresh]").forEach(function (button) { button.remove(); });
  }
});
document.addEventListener("htmx:afterSettle", function () {
  document.querySelectorAll("[data-refresh]").forEach(function (button) { button.remove(); });
});
