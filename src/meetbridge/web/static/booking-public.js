// The public booking pages' few behaviours (no inline script: the pages run under a strict
// Content-Security-Policy). Every page works without this file.
(() => {
  // The booker's own time zone on the first visit, when the link did not name one (the
  // manage page starts from the booking's zone instead).
  const url = new URL(window.location.href);
  const select = document.querySelector("[data-tz-auto]");
  if (select && !url.searchParams.has("timezone")) {
    let mine = "";
    try {
      mine = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (_) {
      mine = "";
    }
    const known = Array.from(select.options).some((o) => o.value === mine);
    if (known && mine !== select.value) {
      url.searchParams.set("timezone", mine);
      url.searchParams.delete("start"); // a chosen slot was shown in another zone
      window.location.replace(url.toString());
      return;
    }
  }
  document.addEventListener("change", (e) => {
    const form = e.target.closest("form[data-tz-form]");
    if (form) form.requestSubmit();
  });

  // In a frame: tell the embedding page our height, and that a booking was made. Only
  // non-secret facts are posted, so any parent may hear them (embed.js checks who sends).
  if (window.parent === window) return;
  const post = (message) => window.parent.postMessage(message, "*");
  let last = 0;
  const height = () => {
    const h = Math.ceil(document.body.getBoundingClientRect().height);
    if (h !== last) {
      last = h;
      post({ type: "meetbridge:height", height: h });
    }
  };
  window.addEventListener("load", height);
  window.addEventListener("resize", height);
  if (window.ResizeObserver) new ResizeObserver(height).observe(document.body);
  height();
  const body = document.body;
  if (body.dataset.bookingStart) {
    post({
      type: "meetbridge:booking_successful",
      booking: { start: body.dataset.bookingStart, type: body.dataset.bookingType },
    });
  }
})();
