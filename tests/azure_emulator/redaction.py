"""Request bodies for the log, with credentials replaced, so tests can assert what a client sent."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

REDACTED = "<redacted>"
# Form fields and JSON keys that carry credentials (Entra token requests, tokens in answers echoed back).
SECRET_KEYS = frozenset({
    "client_secret", "client_assertion", "assertion", "access_token", "refresh_token", "id_token", "password",
    "secret", "token",
})


def _redact(value):
    if isinstance(value, dict):
        return {k: (REDACTED if str(k).lower() in SECRET_KEYS else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def redacted_body(raw: bytes, content_type: str = ""):
    """The body as JSON (dict/list), a form as a dict of fields, other text as a string, None when empty;
    credential fields replaced by ``<redacted>``."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type.lower():
        return _redact({k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()})
    try:
        return _redact(json.loads(text))
    except ValueError:
        return text
