"""The API docs pages (Swagger UI and ReDoc, from drf-spectacular-sidecar) under our CSP.

Our templates move drf-spectacular's inline <style> into static/css/api-*.css and drop
ReDoc's Google fonts (the app works on a closed network); Swagger UI's own script already
comes from a URL of its own (the split view). What each UI still needs beyond the site's
policy is allowed on its page only, and never an inline or eval'd script:

- Swagger UI: images from data: URIs (the icons in swagger-ui.css).
- ReDoc: the <style> elements it writes at run time (styled-components, which takes no
  nonce), its search worker, started from a blob: URL, and data: images.
"""

from csp.decorators import csp_update
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

SWAGGER_UI_POLICY = {"img-src": ["data:"]}
REDOC_POLICY = {"style-src": ["'unsafe-inline'"], "worker-src": ["blob:"], "img-src": ["data:"]}


class SwaggerUIView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"


class RedocView(SpectacularRedocView):
    template_name = "api/redoc.html"


swagger_ui = csp_update(SWAGGER_UI_POLICY)(SwaggerUIView.as_view(url_name="schema"))
redoc = csp_update(REDOC_POLICY)(RedocView.as_view(url_name="schema"))
