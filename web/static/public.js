// The public form and the printable pages: a print button for those who have JavaScript
// (without it the browser's own print command does the same; the button stays hidden).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
});
