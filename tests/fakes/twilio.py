"""A fake Twilio REST API: Messages.json, the Account resource, and media URLs that redirect to a "CDN" on
another port (as api.twilio.com redirects to its media CDN), so tests can see what reaches which host.

    with FakeTwilio() as fake:                      # both servers run until the block ends
        fake.add_media("ME1", b"...", "image/jpeg")  # -> fake.media_url("MM1", "ME1")
        fake.script.queue("messages", 400, twilio_error(21211, "Invalid 'To' Phone Number"))
        fake.requests_to("messages")[0].form
        fake.cdn.requests_to("cdn")[0].headers       # no authorization header here
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from tests.fakes.server import FakeProvider

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32


def twilio_error(code: int, message: str, status: int = 400) -> dict[str, Any]:
    """Twilio's documented error body."""
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


AUTHENTICATE = twilio_error(20003, "Authenticate", 401)


class FakeTwilioCDN(FakeProvider):
    """Where media URLs redirect to: serves the bytes to anyone, like a signed CDN link."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.chunked: set[str] = set()  # served without Content-Length, in pieces
        super().__init__()

    def add_routes(self) -> None:
        @self.app.get("/media/{media_sid}")
        async def download(media_sid: str, request: Request) -> Response:
            if (scripted := await self.record(request, "cdn")) is not None:
                return scripted.to_response()
            if media_sid not in self.files:
                return Response("Not Found", status_code=404)
            data, mime = self.files[media_sid]
            if media_sid in self.chunked:
                pieces = [data[i : i + 1024] for i in range(0, len(data), 1024)]
                return StreamingResponse(iter(pieces), media_type=mime)
            return Response(data, media_type=mime)


class FakeTwilio(FakeProvider):
    def __init__(
        self,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        friendly_name: str = "ChatHub support",
        account_status: str = "active",
    ) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.friendly_name, self.account_status = friendly_name, account_status
        self.media_needs_auth = True  # the account's "Enforce HTTP Auth on Media URLs" setting
        self.cdn = FakeTwilioCDN()
        super().__init__()

    def start(self) -> FakeTwilio:
        self.cdn.start()
        super().start()
        return self

    def stop(self) -> None:
        super().stop()
        self.cdn.stop()

    def media_url(self, message_sid: str, media_sid: str) -> str:
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_sid}"

    def add_media(self, media_sid: str, data: bytes, mime: str, *, chunked: bool = False) -> None:
        self.cdn.files[media_sid] = (data, mime)
        if chunked:
            self.cdn.chunked.add(media_sid)

    def _authorized(self, request: Request, account_sid: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return account_sid == self.account_sid and request.headers.get("authorization") == f"Basic {expected}"

    def add_routes(self) -> None:
        @self.app.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
        async def create_message(account_sid: str, request: Request) -> Response:
            if (scripted := await self.record(request, "messages")) is not None:
                return scripted.to_response()
            if not self._authorized(request, account_sid):
                return JSONResponse(AUTHENTICATE, status_code=401)
            form = parse_qs((await request.body()).decode(), keep_blank_values=True)
            if not form.get("To"):
                return JSONResponse(twilio_error(21604, "A 'To' phone number is required."), status_code=400)
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return JSONResponse(twilio_error(21603, "A 'From' phone number is required."), status_code=400)
            if not form.get("Body") and not form.get("MediaUrl"):
                return JSONResponse(twilio_error(21602, "Message body is required."), status_code=400)
            return JSONResponse(self._message_resource(form), status_code=201)

        @self.app.get("/2010-04-01/Accounts/{account_sid}.json")
        async def fetch_account(account_sid: str, request: Request) -> Response:
            if (scripted := await self.record(request, "account")) is not None:
                return scripted.to_response()
            if not self._authorized(request, account_sid):
                return JSONResponse(AUTHENTICATE, status_code=401)
            return JSONResponse(self._account_resource())

        @self.app.get("/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}")
        async def fetch_media(account_sid: str, message_sid: str, media_sid: str, request: Request) -> Response:
            if (scripted := await self.record(request, "media")) is not None:
                return scripted.to_response()
            if self.media_needs_auth and not self._authorized(request, account_sid):
                return JSONResponse(AUTHENTICATE, status_code=401)
            return RedirectResponse(f"{self.cdn.base_url}/media/{media_sid}", status_code=307)

    def _message_resource(self, form: dict[str, list[str]]) -> dict[str, Any]:
        """The Message resource as Twilio documents it for a freshly created message."""
        media = form.get("MediaUrl", [])
        sid = ("MM" if media else "SM") + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        service = form.get("MessagingServiceSid", [None])[0]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": form.get("Body", [""])[0],
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From", [None])[0],
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": form["To"][0],
            "uri": uri,
        }

    def _account_resource(self) -> dict[str, Any]:
        uri = f"/2010-04-01/Accounts/{self.account_sid}.json"
        return {
            "auth_token": self.auth_token,
            "date_created": "Thu, 29 Jul 2021 20:38:00 +0000",
            "date_updated": "Thu, 29 Jul 2021 20:38:00 +0000",
            "friendly_name": self.friendly_name,
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": self.account_status,
            "subresource_uris": {"messages": uri.replace(".json", "/Messages.json")},
            "type": "Full",
            "uri": uri,
        }
