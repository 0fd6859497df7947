// servicedesk: small behaviours shared by every page (no inline scripts, CSP-friendly).
(function () {
  "use strict";
  // Let the server show times in the viewer's timezone.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; SameSite=Lax; max-age=31536000";
    }
  } catch (e) { /* old browser: server time it is */ }
})();
