/* Copy buttons, a progressive enhancement. A <button data-copy="ID" hidden> next to a
   read-only field with that id is shown and copies the field's value; a
   [data-copy-status="ID"] element, if any, says whether it worked. Without JavaScript the
   button stays hidden and the field can still be selected and copied by hand. */
(function () {
  "use strict";

  function say(id, text) {
    var status = document.querySelector('[data-copy-status="' + id + '"]');
    if (status) status.textContent = text;
  }

  function byHand(field, id) {
    field.focus();
    field.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    say(id, copied ? "Copied." : "Could not copy: the text is selected, copy it by hand.");
  }

  function copy(button) {
    var id = button.getAttribute("data-copy");
    var field = document.getElementById(id);
    if (!field) return;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(
        function () { say(id, "Copied."); },
        function () { byHand(field, id); }
      );
    } else {
      byHand(field, id);
    }
  }

  function enhance(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (button.hasAttribute("data-copy-ready")) return;
      button.setAttribute("data-copy-ready", "");
      button.hidden = false;
      button.addEventListener("click", function () { copy(button); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
