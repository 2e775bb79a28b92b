// Task forms: once an outcome is chosen, show only the fields that outcome needs (without
// JavaScript every field shows, each saying which outcomes need it; the server checks anyway).
(function () {
  "use strict";
  function update(form) {
    var chosen = form.querySelector('input[name="outcome"]:checked');
    form.querySelectorAll(".field[data-outcomes]").forEach(function (field) {
      var needs = field.getAttribute("data-outcomes").split(" ");
      field.hidden = chosen !== null && needs.indexOf(chosen.value) < 0;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.task-form").forEach(function (form) {
      update(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "outcome") { update(form); }
      });
    });
  });
})();
