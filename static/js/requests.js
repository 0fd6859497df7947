// servicedesk request pages: live SLA countdowns and "tick all" in the queue.
// No inline scripts: the templates only carry data attributes (CSP-friendly).
(function () {
  "use strict";

  // Same shape as the server's `countdown` filter: "in 2 h 5 min", "1 d 3 h overdue".
  function duration(seconds) {
    seconds = Math.abs(Math.round(seconds));
    var days = Math.floor(seconds / 86400);
    if (days) {
      var dayHours = Math.floor((seconds % 86400) / 3600);
      return dayHours ? days + " d " + dayHours + " h" : days + " d";
    }
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    if (hours && minutes) { return hours + " h " + minutes + " min"; }
    if (hours) { return hours + " h"; }
    if (minutes) { return minutes + " min"; }
    return seconds ? "less than a minute" : "0 min";
  }

  function updateCountdowns() {
    var now = Date.now();
    var elements = document.querySelectorAll("[data-due]");
    for (var i = 0; i < elements.length; i++) {
      var due = Date.parse(elements[i].getAttribute("data-due"));
      if (isNaN(due)) { continue; }
      var left = (due - now) / 1000;
      elements[i].textContent = left >= 0 ? "in " + duration(left) : duration(left) + " overdue";
      elements[i].classList.toggle("overdue", left < 0);
    }
  }

  // "Tick all": a checkbox with data-check-all="NAME" ticks every checkbox named NAME.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("input[data-check-all]")) { return; }
    var name = box.getAttribute("data-check-all");
    var boxes = document.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
    for (var i = 0; i < boxes.length; i++) { boxes[i].checked = box.checked; }
  });

  document.addEventListener("DOMContentLoaded", updateCountdowns);
  // Parts of the page swapped in by htmx carry fresh countdowns.
  document.addEventListener("htmx:afterSettle", updateCountdowns);
  window.setInterval(updateCountdowns, 30000);
})();
