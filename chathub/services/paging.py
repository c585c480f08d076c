"""Opaque cursors for keyset paging: every list pages with `limit` and the previous `next_cursor`."""

from __future__ import annotations

import base64
import json
from typing import Any

from chathub.services.errors import ValidationFailed

MAX_LIMIT = 100


def clamp_limit(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if limit < 1:
        raise ValidationFailed("limit must be at least 1")
    return min(limit, MAX_LIMIT)


def encode_cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise ValidationFailed("cursor is not one this server gave out") from None
    if not isinstance(values, list) or len(values) != arity:
        raise ValidationFailed("cursor is not one this server gave out")
    return values
