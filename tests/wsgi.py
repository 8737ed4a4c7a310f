"""One request through a WSGI callable, in-process, the way gunicorn makes it."""

import io

from django.core.signals import request_finished, request_started
from django.db import close_old_connections


def call(
    app,
    path,
    *,
    method="GET",
    body=b"",
    headers=None,
    cookies=None,
    query="",
    content_type=None,
    environ_extra=None,
    before_close=None,
):
    """(status code, headers, body) of one request through the WSGI callable ``app``.

    ``environ_extra`` sets environ entries as they are (None removes one);
    ``before_close`` is called once the body is read, before the answer is closed (where
    a server has sent the answer).
    """
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(body)),
    }
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    elif body:
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    for name, value in (environ_extra or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    if cookies:
        environ["HTTP_COOKIE"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    started = {}

    def start_response(status, response_headers, exc_info=None):
        started["status"] = int(status.split()[0])
        started["headers"] = response_headers

    # As Django's test client does: the test's transaction keeps its connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = app(environ, start_response)
        try:
            content = b"".join(chunks)
            if before_close is not None:
                before_close()
        finally:
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return started["status"], dict(started["headers"]), content
