"""The local HTTP/JSON API the daemon serves: token auth, operator roles, an OpenAPI 3 document (docs/api.md)."""
