// Asks before leaving a page while text typed into a form marked data-warn-unsent has not
// been sent. The form being submitted sends its own text, so only the others count.
// Loaded as a file: the CSP allows no inline script.
(function () {
  "use strict";
  var submitted = null;

  document.addEventListener("submit", function (event) {
    submitted = event.target;
  });

  function hasUnsentText(form) {
    return Array.prototype.some.call(form.elements, function (field) {
      var typed = field.tagName === "TEXTAREA" || field.type === "text" || field.type === "url";
      return typed && field.value.trim() !== field.defaultValue.trim();
    });
  }

  window.addEventListener("beforeunload", function (event) {
    var forms = document.querySelectorAll("form[data-warn-unsent]");
    var unsent = Array.prototype.some.call(forms, function (form) {
      return form !== submitted && hasUnsentText(form);
    });
    if (unsent) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
