"""The API's routes as data: each declares its least role and its OpenAPI 3.0 operation; requests are checked against it.

The OpenAPI document (`GET /openapi.json`) is built from the same `Route` objects the
server mounts, so the document cannot drift from the routes. Requests are validated by
the small JSON Schema subset below (OpenAPI 3.0 section 4.7.24: type, nullable, enum,
length, pattern, bounds, properties, required, additionalProperties, items) rather than a
full validator: that is all the routes use, and it keeps the board's install small.
Every integer in a schema is bounded so a 20-digit number is refused as bad input
before it could overflow SQLite's 64-bit integers.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from appliance.errors import InputError

INT64 = 2**63 - 1
JSON = "application/json"


class RequestInvalid(InputError):
    """The request does not match the operation's schema (HTTP 400)."""

    code = "bad_request"


# --- schema builders (plain dicts: they are the document)

def string(max_length: int = 200, *, min_length: int = 0, pattern: str | None = None, **extra: Any) -> dict:
    schema = {"type": "string", "maxLength": max_length, **extra}
    if min_length:
        schema["minLength"] = min_length
    if pattern:
        schema["pattern"] = pattern
    return schema


def integer(minimum: int = 0, maximum: int = INT64, **extra: Any) -> dict:
    return {"type": "integer", "minimum": minimum, "maximum": maximum, **extra}


def obj(required: dict[str, dict] | None = None, optional: dict[str, dict] | None = None, *,
        closed: bool = True) -> dict:
    """An object schema; `closed` refuses unknown keys (a typo in a request is an error, not ignored)."""
    required, optional = required or {}, optional or {}
    schema: dict[str, Any] = {"type": "object", "properties": {**required, **optional}}
    if required:
        schema["required"] = list(required)
    if closed:
        schema["additionalProperties"] = False
    return schema


def array(items: dict, max_items: int | None = None) -> dict:
    schema = {"type": "array", "items": items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


BOOLEAN = {"type": "boolean"}
TEXT = {"type": "string"}
ANY_OBJECT = {"type": "object"}
ERROR = obj({"error": TEXT, "message": TEXT}, {"state": TEXT}, closed=False)


# --- routes

@dataclass
class Call:
    """One authenticated, validated request as a handler sees it."""

    daemon: Any
    operator: Any
    params: dict[str, str]
    query: dict[str, Any]
    body: dict[str, Any]


class JsonText(str):
    """An answer already written as JSON (a report of 5,000 rows is not parsed to be written again)."""


Handler = Callable[[Call], Awaitable[tuple[int, Any]]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # OpenAPI form: /members/{key}
    role: str  # the least operator role (appliance/core/operators.py ROLES) allowed to call it
    handler: Handler
    summary: str
    response: dict  # schema of the success body
    status: int = 200
    body: dict | None = None
    query: dict[str, dict] = field(default_factory=dict)  # name -> schema (all optional)
    params: dict[str, dict] = field(default_factory=dict)  # path parameter name -> schema
    tag: str = ""
    content: str = JSON  # a CSV download or an SVG chart answers with its text, not JSON

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


_ERRORS = {400: "the request does not match this document", 401: "no token, or not a live one",
           403: "the token's operator role is too low, or a rule needs a higher role",
           404: "no such thing", 409: "refused by a business rule or the till's state",
           422: "the values are well-formed but wrong (a bad barcode, a phone number)"}


def document(routes: list[Route], *, version: str) -> dict:
    """The OpenAPI 3.0 document of `routes`."""
    paths: dict[str, dict] = {}
    for route in routes:
        parameters = [{"name": n, "in": "path", "required": True, "schema": s} for n, s in route.params.items()]
        parameters += [{"name": n, "in": "query", "required": False, "schema": s} for n, s in route.query.items()]
        responses = {str(route.status): {"description": "done", "content": {route.content: {"schema": route.response}}}}
        for status, why in _ERRORS.items():
            responses[str(status)] = {"description": why, "content": {"application/json": {"schema": ERROR}}}
        operation: dict[str, Any] = {
            "operationId": route.operation_id, "summary": route.summary,
            "description": f"Least role: {route.role}.", "tags": [route.tag] if route.tag else [],
            "responses": responses,
        }
        if parameters:
            operation["parameters"] = parameters
        if route.body is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    paths["/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "this document", "security": [],
        "responses": {"200": {"description": "the OpenAPI document",
                              "content": {"application/json": {"schema": ANY_OBJECT}}}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Point-of-sale appliance local API", "version": version,
                 "description": "Served by the daemon on this box; see docs/api.md."},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": paths,
    }


# --- validation

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def validate(schema: dict, value: Any, where: str) -> None:
    """Raise RequestInvalid naming `where` (body.lines[2].sku) when `value` breaks `schema`."""
    if value is None:
        if schema.get("nullable"):
            return
        raise RequestInvalid(f"{where} must not be null", where=where)
    kind = schema.get("type")
    if kind and not _TYPES[kind](value):
        raise RequestInvalid(f"{where} must be of type {kind}", where=where)
    if "enum" in schema and value not in schema["enum"]:
        raise RequestInvalid(f"{where} must be one of {', '.join(map(str, schema['enum']))}", where=where)
    if isinstance(value, str):
        _string(schema, value, where)
    elif kind in ("integer", "number"):
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            raise RequestInvalid(f"{where} must be from {schema.get('minimum')} to {schema.get('maximum')}", where=where)
    elif isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)) or len(value) < schema.get("minItems", 0):
            raise RequestInvalid(f"{where} has {len(value)} items; allowed: {schema.get('minItems', 0)}"
                                 f" to {schema.get('maxItems', 'any')}", where=where)
        for index, item in enumerate(value):
            validate(schema.get("items", {}), item, f"{where}[{index}]")
    elif isinstance(value, dict):
        _object(schema, value, where)


def _string(schema: dict, value: str, where: str) -> None:
    try:
        value.encode("utf-8")  # JSON may carry lone surrogates (\ud800), which no store or printer can hold
    except UnicodeEncodeError:
        raise RequestInvalid(f"{where} is not valid Unicode text", where=where) from None
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        raise RequestInvalid(f"{where} must be {schema.get('minLength', 0)} to {schema.get('maxLength')} characters",
                             where=where)
    if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
        raise RequestInvalid(f"{where} must match {schema['pattern']}", where=where)


@functools.lru_cache(maxsize=None)
def _pattern(text: str) -> re.Pattern:
    """A schema pattern with JSON Schema's (ECMA 262) meaning of a final `$`: the very end of the text.

    Python's `$` also matches before a final newline, so "Shop\n" would pass `^[^\n]*$`.
    """
    if text.endswith("$") and not text.endswith("\\$"):
        text = text[:-1] + r"\Z"
    return re.compile(text)


def _object(schema: dict, value: dict, where: str) -> None:
    properties = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            raise RequestInvalid(f"{where}.{name} is required", where=f"{where}.{name}")
    for name, item in value.items():
        if name in properties:
            validate(properties[name], item, f"{where}.{name}")
        elif schema.get("additionalProperties") is False:
            raise RequestInvalid(f"{where}.{name} is not a known field ({', '.join(properties) or 'none'})",
                                 where=f"{where}.{name}")


def query_value(schema: dict, text: str, where: str) -> Any:
    """A query or path string as its schema's type (integers and booleans arrive as text)."""
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?[0-9]{1,19}", text):
            raise RequestInvalid(f"{where} must be a whole number", where=where)
        value: Any = int(text)
    elif kind == "boolean":
        if text not in ("true", "false"):
            raise RequestInvalid(f"{where} must be true or false", where=where)
        value = text == "true"
    else:
        value = text
    validate(schema, value, where)
    return value
