// The pages' few behaviours, by data attribute (no inline handlers: the Content-Security-Policy
// allows scripts from this origin only). Every page still works without JavaScript.
//   data-autosubmit   on a <select>: submit its form when the choice changes
//   data-select-all   on an <input>: select its text when clicked
//   data-copy="text"  on a <button>: copy the text to the clipboard
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });
  document.addEventListener("click", function (event) {
    var el = event.target;
    if (!(el instanceof Element)) return;
    if (el instanceof HTMLInputElement && el.hasAttribute("data-select-all")) el.select();
    var copy = el.closest("[data-copy]");
    if (copy && navigator.clipboard) navigator.clipboard.writeText(copy.getAttribute("data-copy"));
  });
})();
