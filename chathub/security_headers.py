"""Headers that keep ChatHub's pages out of other sites' frames and keep its addresses to itself.

The content security policy is as strict as NiceGUI allows: its pages start from an inline script and Vue
compiles their templates in the browser (`'unsafe-inline'`, `'unsafe-eval'`); everything else, images
included, comes from ChatHub's own origin, so a customer's address that slipped into the page would still not
be fetched. The live socket is same-origin (`'self'` covers ws: and wss: there).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"x-content-type-options", b"nosniff"),
]
UNTOUCHED_PREFIXES = ("/webhooks/",)  # providers read no headers, and the intake is the hot path


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNTOUCHED_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in HEADERS if name not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
