// meetbridge's few behaviours, from data attributes (no inline scripts or handlers, so the
// pages work under a strict Content-Security-Policy). Every page works without it.
document.addEventListener("click", (e) => {
  const copy = e.target.closest("[data-copy]");
  if (copy && navigator.clipboard) {
    navigator.clipboard.writeText(copy.dataset.copy);
    copy.textContent = "Copied";
  }
});
document.addEventListener("focusin", (e) => {
  if (e.target.matches("[data-select-all]")) e.target.select();
});
document.addEventListener("change", (e) => {
  const form = e.target.closest("form[data-autosubmit]");
  if (form) form.requestSubmit();
});
// A select whose choice reshapes the form (a workflow's trigger, a step's action) presses the
// button next to it, which re-renders the page from what was posted; without JavaScript that
// button is pressed by hand.
document.addEventListener("change", (e) => {
  const select = e.target.closest("select[data-submit-with]");
  const button = select && document.getElementById(select.dataset.submitWith);
  if (button && select.form) select.form.requestSubmit(button);
});
