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
  // A time zone select marked data-detect-timezone starts at the browser's zone when asked
  // (an old name the browser reports, such as Asia/Calcutta, is looked up in data-zone-aliases).
  document.querySelectorAll("select[data-detect-timezone]").forEach(function (select) {
    if (select.getAttribute("data-detect-timezone") !== "1") return;
    try {
      var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
      var aliases = JSON.parse(select.getAttribute("data-zone-aliases") || "{}");
      if (zone && !select.querySelector('option[value="' + zone + '"]') && aliases[zone]) zone = aliases[zone];
      // A select that already shows the browser's zone is left alone: submitting it would only load the
      // same page again.
      if (zone && zone !== select.value && select.querySelector('option[value="' + zone + '"]')) {
        select.value = zone;
        if (select.hasAttribute("data-autosubmit")) select.form.submit();
      }
    } catch (e) { /* keep the server's default */ }
  });
  // A search box above a time zone select narrows its options to the zones whose name holds every
  // word typed, and selects the first of them; an empty box brings the whole list back.
  document.querySelectorAll("input[data-zone-filter]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-zone-filter"));
    if (!select) return;
    var all = Array.prototype.slice.call(select.options);
    var count = document.getElementById(input.id + "-count");
    var words = function (text) { return text.toLowerCase().replace(/[_/]+/g, " "); };
    input.closest("[data-zone-filter-box]").hidden = false;
    input.addEventListener("input", function () {
      var query = words(input.value).split(/\s+/).filter(Boolean);
      var chosen = select.value;
      var matches = all.filter(function (option) {
        var text = words(option.value + " " + option.text);
        return query.every(function (word) { return text.indexOf(word) !== -1; });
      });
      if (!matches.length) {
        if (count) count.textContent = "No zone matches; the whole list is shown.";
        matches = all;
      } else if (count) {
        count.textContent = query.length ? matches.length + (matches.length === 1 ? " zone matches." : " zones match.") : "";
      }
      select.replaceChildren.apply(select, matches);
      var keep = matches.filter(function (option) { return option.value === chosen; });
      select.value = keep.length ? chosen : matches[0].value;
    });
    input.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();  // never submits a whole form; a select that applies itself applies the zone found
      if (select.hasAttribute("data-autosubmit")) select.form.submit(); else select.focus();
    });
  });
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
