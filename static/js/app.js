// Small progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";
  // Forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });
  // Copy buttons: <button data-copy="#input-id">
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
  // A time zone select marked data-detect-timezone starts at the browser's zone when asked.
  document.querySelectorAll("select[data-detect-timezone]").forEach(function (select) {
    if (select.getAttribute("data-detect-timezone") !== "1") return;
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (zone && select.querySelector('option[value="' + zone + '"]')) {
        select.value = zone;
        if (select.hasAttribute("data-autosubmit")) select.form.submit();
      }
    } catch (e) { /* keep the server's default */ }
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
