/* Markdown preview buttons, a progressive enhancement. A <button data-md-preview hidden>
   under a Markdown box (templates/core/_markdown_preview.html) posts the box's text with
   htmx and shows the rendered result below it. Without JavaScript the button stays hidden. */
(function () {
  "use strict";

  function reveal() {
    if (!window.htmx) return;
    document.querySelectorAll("button[data-md-preview][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", reveal);
  // Boxes that htmx swaps in later (e.g. an in-place comment edit) get their button too.
  document.addEventListener("htmx:afterSettle", reveal);
})();
