// meetbridge's booking page on another site, from one tag:
//   <script src="https://HOST/static/embed.js" data-meetbridge-book="https://HOST/book/ORG/TYPE"
//           data-mode="inline"></script>            (or data-mode="popup", data-label="Book")
// inline: a frame of the page right where the tag is; popup: a button that opens it in a dialog.
// The frame grows to its page's height, and a booking made in it is announced on the tag (and
// so on the document) as the DOM event "meetbridge:booking_successful" (detail: start, type).
// Only messages from the booking page's own origin and from its own frame are heard.
(() => {
  const tags = document.querySelectorAll("script[data-meetbridge-book]:not([data-meetbridge-ready])");
  tags.forEach((tag) => {
    tag.setAttribute("data-meetbridge-ready", "");
    let page;
    try {
      page = new URL(tag.getAttribute("data-meetbridge-book"), document.baseURI);
    } catch (_) {
      return;
    }
    if (page.protocol !== "https:" && page.protocol !== "http:") return;
    page.searchParams.set("embed", "1");
    const mode = tag.getAttribute("data-mode") === "popup" ? "popup" : "inline";

    const frame = document.createElement("iframe");
    frame.src = page.toString();
    frame.title = tag.getAttribute("data-title") || "Book a time";
    frame.className = "meetbridge-frame";
    frame.style.width = "100%";
    frame.style.maxWidth = "100%";
    frame.style.border = "0";
    frame.style.height = "640px";
    frame.style.display = "block";

    window.addEventListener("message", (e) => {
      if (e.origin !== page.origin || e.source !== frame.contentWindow) return;
      const data = e.data || {};
      if (data.type === "meetbridge:height" && Number.isFinite(data.height)) {
        frame.style.height = `${Math.max(120, Math.min(Math.round(data.height), 20000))}px`;
      } else if (data.type === "meetbridge:booking_successful") {
        const booking = data.booking || {};
        const detail = { start: String(booking.start || ""), type: String(booking.type || "") };
        tag.dispatchEvent(
          new CustomEvent("meetbridge:booking_successful", { detail, bubbles: true }),
        );
      }
    });

    if (mode === "inline") {
      tag.after(frame);
      return;
    }

    const button = document.createElement("button");
    button.type = "button";
    button.className = "meetbridge-open";
    button.textContent = tag.getAttribute("data-label") || "Book a time";
    button.setAttribute("aria-haspopup", "dialog");
    const dialog = document.createElement("dialog");
    dialog.className = "meetbridge-dialog";
    dialog.setAttribute("aria-label", frame.title);
    dialog.style.width = "min(44rem, 96vw)";
    dialog.style.maxHeight = "92vh";
    dialog.style.padding = "0";
    dialog.style.border = "0";
    dialog.style.borderRadius = "10px";
    const close = document.createElement("button");
    close.type = "button";
    close.className = "meetbridge-close";
    close.textContent = "Close";
    close.style.float = "right";
    close.style.margin = "6px";
    dialog.append(close, frame);
    tag.after(button, dialog);
    // A modal dialog keeps focus inside it and closes on Escape; focus returns to the button.
    button.addEventListener("click", () => {
      if (!dialog.open) dialog.showModal();
      close.focus();
    });
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (e) => {
      if (e.target === dialog) dialog.close(); // the backdrop
    });
    dialog.addEventListener("close", () => button.focus());
  });
})();
