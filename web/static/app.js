// Sends the page's CSRF token with every htmx request (the forms carry it as a field too, so
// everything also works without JavaScript).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});
