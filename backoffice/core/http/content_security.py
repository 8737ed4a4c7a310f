"""The Content-Security-Policy header: django-csp's middleware, one policy per kind of answer.

A page (text/html) gets settings.CONTENT_SECURITY_POLICY: scripts and styles from this
origin only, nothing inline, no plugins, no framing; a page's view may widen or narrow
it with django-csp's decorators (csp.decorators: Swagger UI's page allows data:
images). Any other answer (JSON, CSV, the metrics, static files, scripts) is no
document a browser should run anything in, so it gets NOT_A_PAGE: nothing at all may
load. That header is written as a constant: building a policy costs about 40 us, a
tenth of a one-row prediction's budget, and the API answers only JSON.
"""

from __future__ import annotations

from csp.constants import HEADER
from csp.middleware import CSPMiddleware

# Fetch directives fall back to default-src; frame-ancestors does not, so it is named.
NOT_A_PAGE = "default-src 'none'; frame-ancestors 'none'"


def is_page(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """CSPMiddleware for pages; the NOT_A_PAGE policy on every other answer."""

    def process_response(self, request, response):
        if is_page(response):
            return super().process_response(request, response)
        if HEADER not in response and not getattr(response, "_csp_exempt", False):
            response[HEADER] = NOT_A_PAGE
        return response
