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
