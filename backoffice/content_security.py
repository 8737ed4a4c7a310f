"""The Content-Security-Policy header: django-csp's middleware, one policy per kind of answer.

A page (text/html) gets settings.CONTENT_SECURITY_POLICY: scripts and styles from this
origin only, nothing inline, no plugins, no framing. Any other answer (JSON, CSV, the
metrics, static files, scripts) is no document a browser should run anything in, so it
gets NOT_A_PAGE: nothing at all may load. A page's view may widen or narrow its own
policy with django-csp's decorators (csp.decorators: Swagger UI's page allows data:
images); they do not touch the NOT_A_PAGE policy.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts

# Fetch directives fall back to default-src; frame-ancestors does not, so it is named.
NOT_A_PAGE = {"default-src": ["'none'"], "frame-ancestors": ["'none'"]}


def is_page(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """CSPMiddleware that gives answers other than pages the NOT_A_PAGE policy."""

    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and not is_page(response):
            parts.config, parts.update, parts.replace = NOT_A_PAGE, None, None
        return parts
