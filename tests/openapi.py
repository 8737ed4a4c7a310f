"""Check an API answer against the project's OpenAPI schema, as schemathesis does.

The regression tests of what the fuzzer found use it in-process: the status code must
be documented for the operation, and a JSON body must match the documented schema.
"""

from functools import cache

import jsonschema
from drf_spectacular.generators import SchemaGenerator


@cache
def api_schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _json_schema(node):
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's ``null`` type."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
        if "$ref" in node or "allOf" in node or "oneOf" in node:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def assert_documented(response, method: str, path: str) -> None:
    """``response`` to ``method path`` has a documented status, content type and body."""
    schema = api_schema()
    responses = schema["paths"][path][method.lower()]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method} {path} does not document {status}: {responses}"
    content = responses[status].get("content", {})
    media_type = response["Content-Type"].split(";")[0].strip()
    assert media_type in content, f"{method} {path} {status}: {media_type} not documented"
    root = _json_schema({**content[media_type]["schema"], "components": schema["components"]})
    jsonschema.validate(response.json(), root)
