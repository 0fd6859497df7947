"""What requests_app tells the apps above it, which it does not import (surveys, scorecards):
Django signals, the one mechanism for reactions that go up the dependency chain. Receivers
connect in their AppConfig.ready(); a signal is named here, so that connecting to a name that
does not exist fails at start-up.

- `request_resolved(sender=ServiceRequest, request_id)`: a request was resolved; sent after
  the resolution commits (services.request_transition), so a receiver sees it saved. The
  surveys app sends the requester's survey.
- `request_page_panels(sender=ServiceRequest, place, http_request, service_request, user)`:
  the request page asks for panels; a receiver answers `{"template", "context"}` (its
  template gets the context as `panel`) or None. `place` is "detail" (the main column,
  requests/partials/panels.html) or "history" (the requester sidebar, shown to provider
  staff only, requests/partials/requester_ratings.html). Receivers answer in the order they
  connected.
"""

from django.dispatch import Signal

request_resolved = Signal()
request_page_panels = Signal()

PANEL_PLACES = ("detail", "history")
