// Time-zone boxes (accounts.forms.TimeZoneInput) and this device's zone, from the browser.
// data-time-zone="fill": an empty box gets the device's zone (sign-up, join).
// data-time-zone="suggest": a button offers the device's zone when it differs (profile).
// Without JavaScript the boxes still work: type and pick from the list.
(function () {
  "use strict";
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (error) {
    return;
  }
  if (!zone) return;

  function setUp(root) {
    root.querySelectorAll("input[data-time-zone]").forEach(function (input) {
      if (input.dataset.timeZoneReady) return;
      input.dataset.timeZoneReady = "1";
      if (input.dataset.timeZone === "fill") {
        if (!input.value) input.value = zone;
        return;
      }
      var button = root.querySelector('button[data-device-zone-for="' + input.id + '"]');
      if (!button || input.value === zone) return;
      button.textContent = "Use this device’s zone (" + zone + ")";
      button.hidden = false;
      button.addEventListener("click", function () {
        input.value = zone;
        button.hidden = true;
        input.focus();
      });
    });
  }

  setUp(document);
  // A form htmx swapped in (e.g. shown again with an error) gets the same help.
  document.addEventListener("htmx:load", function (event) {
    setUp(event.detail.elt);
  });
})();
