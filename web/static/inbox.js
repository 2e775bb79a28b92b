// The inbox's "select all" box: shown only where JavaScript runs (without it, officers tick the
// rows one by one; the bulk form works the same). Delegated, so it survives the polled swaps.
document.addEventListener("change", function (event) {
  var box = event.target;
  if (!box.classList || !box.classList.contains("select-all")) { return; }
  var form = box.closest("form");
  form.querySelectorAll('input[name="task_ids"]').forEach(function (row) { row.checked = box.checked; });
});
function showSelectAll() {
  document.querySelectorAll("input.select-all[hidden]").forEach(function (box) {
    box.hidden = false;
    var label = box.nextElementSibling;
    if (label) { label.remove(); }
  });
}
document.addEventListener("DOMContentLoaded", showSelectAll);
document.addEventListener("htmx:afterSettle", showSelectAll);
