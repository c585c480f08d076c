"""WhatsApp Cloud API error codes -> ChatHub errors and sentences an agent understands.

Graph API errors come as ``{"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
"code": 131047, "error_data": {"messaging_product": "whatsapp", "details": "..."}, "fbtrace_id": "..."}}``;
failed receipts carry the same fields in ``statuses[].errors[]``. Meta advises building on `code` (and
`details`), not on titles or HTTP statuses, so the code decides here and the HTTP status only fills in when
there is no code (an HTML 502 from a proxy, say).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from chathub.drivers.base import ChannelError, CredentialsError, PermanentError, RetryableError

# Codes whose sentence says it all; the rest get Meta's own message plus its `details`.
SENTENCES = {
    131047: "More than 24 hours have passed since the customer last wrote; only a template message can reach them now",
    131026: "The message could not be delivered: the number may not be on WhatsApp, or the customer has not "
    "accepted WhatsApp's latest terms or uses an old WhatsApp version",
    131051: "WhatsApp does not support this kind of message",
    131021: "The recipient is this business's own phone number",
    131030: "The recipient is not on the test number's list of allowed recipients (add it under WhatsApp > "
    "API Setup in the Meta App Dashboard)",
    131031: "The WhatsApp Business Account has been locked",
    131042: "There is a payment problem with the WhatsApp Business Account",
    131048: "WhatsApp limits messages from this number because too many were blocked or reported as spam",
    131049: "Meta chose not to deliver this marketing message, to keep the customer's experience good",
    131050: "The customer has stopped marketing messages from this business",
    131052: "WhatsApp could not download the customer's file",
    131056: "Too many messages went to this customer in a short time; wait before writing again",
    131062: "This kind of message cannot be sent to a customer known only by their WhatsApp username",
    130429: "WhatsApp's sending rate limit for this number was reached",
    130472: "The customer's number is part of a Meta experiment, so the marketing message was not sent",
    133010: "The business phone number is not registered with the Cloud API",
    368: "The WhatsApp Business Account is temporarily blocked for policy violations",
    190: "The access token is invalid or expired; create a new System User token and save it on the channel",
    10: "The access token lacks the permission to message from this number (whatsapp_business_messaging)",
    4: "The app made too many calls to the Graph API; WhatsApp asks to wait",
    80007: "The WhatsApp Business Account reached its API rate limit",
}
# Rate limits: retrying later helps. Seconds to wait when Meta sends no hint.
RATE_LIMIT_WAIT = {4: 60.0, 80007: 60.0, 130429: 5.0, 131056: 60.0}
# Meta-side trouble that passes: "API Unknown", "API Service", "Something went wrong", "Service unavailable",
# "Server temporarily unavailable".
TRANSIENT_CODES = {1, 2, 131000, 131016, 133004}
CREDENTIAL_CODES = {0, 102, 190, 10} | set(range(200, 300))


def error_sentence(code: Any, *, title: Any = None, message: Any = None, details: Any = None) -> str:
    """One sentence that starts with the code: ours when we have one, else Meta's words and details."""
    number = _code(code)
    known = SENTENCES.get(number) if number is not None else None
    if known:
        return f"{number}: {known}"
    said = _strip_code_prefix(str(message or "")) or str(title or "") or "WhatsApp reported an error"
    if details and str(details).strip() and str(details).strip() not in said:
        said = f"{said} ({str(details).strip()})"
    return f"{number}: {said}" if number is not None else said


def error_from_response(status: int, body: bytes, headers: Mapping[str, str]) -> ChannelError:
    """The error to raise for a Graph API answer that is not a success."""
    error = _error_object(body)
    number = _code(error.get("code"))
    error_data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    sentence = error_sentence(
        number, title=error.get("error_user_title"), message=error.get("message"), details=error_data.get("details")
    )
    code = str(number) if number is not None else None
    if number in RATE_LIMIT_WAIT or (number is None and status == 429):
        return RetryableError(
            sentence if number is not None else "WhatsApp asked to slow down (HTTP 429)",
            retry_after=_wait_hint(headers) or RATE_LIMIT_WAIT.get(number, 60.0),
        )
    if number in CREDENTIAL_CODES or (number is None and status == 401):
        return CredentialsError(
            sentence if number is not None else "WhatsApp refused the access token (HTTP 401)", code=code or "401"
        )
    if number in TRANSIENT_CODES or status >= 500:
        return RetryableError(
            sentence if number is not None else f"WhatsApp had a server error (HTTP {status})",
            retry_after=_wait_hint(headers),
        )
    return PermanentError(
        sentence if number is not None else f"WhatsApp refused the request (HTTP {status})", code=code
    )


def _error_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, dict) else {}


def _code(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _strip_code_prefix(message: str) -> str:
    return re.sub(r"^\(#\d+\)\s*", "", message.strip())


def _wait_hint(headers: Mapping[str, str]) -> float | None:
    """Retry-After, or the minutes Meta's X-Business-Use-Case-Usage says until the limit lifts."""
    retry_after = headers.get("retry-after", "")
    try:
        if retry_after and float(retry_after) > 0:
            return float(retry_after)
    except ValueError:
        pass
    try:
        usage = json.loads(headers.get("x-business-use-case-usage", "") or "{}")
        minutes = [
            float(item.get("estimated_time_to_regain_access") or 0)
            for items in usage.values()
            if isinstance(items, list)
            for item in items
            if isinstance(item, dict)
        ]
    except (ValueError, TypeError, AttributeError):
        return None
    longest = max(minutes, default=0)
    return longest * 60 if longest > 0 else None
