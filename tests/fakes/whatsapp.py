"""A fake WhatsApp Cloud API (Graph API): the routes ChatHub's driver uses, answering with Meta's documented
success and error bodies. Paths have no version prefix: point the driver's api_base_url at `fake.base_url`.

    POST /{phone_number_id}/messages   send (route "messages") or mark read + typing (route "typing")
    POST /{phone_number_id}/media      multipart upload: file, type, messaging_product  (route "upload")
    GET  /{media_id}                   {"url": <this fake's download URL>, "mime_type", ...}  (route "media")
    GET  /download/{media_id}          the bytes; needs the bearer token too  (route "download")
    GET  /{phone_number_id}?fields=... the number's display_phone_number, verified_name, quality_rating
                                       (route "phone_number")

    with FakeWhatsApp() as fake:
        fake.add_media("1013859600285441", b"...", mime_type="image/jpeg")
        fake.script.queue("messages", 400, graph_error(131047, "Re-engagement message", details="..."))
        fake.requests_to("messages")[0].json
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.datastructures import UploadFile

from tests.fakes.server import FakeProvider

ACCESS_TOKEN = "EAAJB-fake-system-user-token"
PHONE_NUMBER_ID = "106540352242922"
MESSAGE_KINDS = {
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
    "template",
}
MEDIA_KINDS = {"image", "video", "audio", "document", "sticker"}


def graph_error(
    code: int,
    message: str,
    *,
    details: str | None = None,
    error_type: str = "OAuthException",
    subcode: int | None = None,
) -> dict[str, Any]:
    """A Graph API error body, as Meta sends it."""
    error: dict[str, Any] = {
        "message": f"(#{code}) {message}",
        "type": error_type,
        "code": code,
        "fbtrace_id": "AbCdEfGhIjKlMnOp",
    }
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


def expired_token_error() -> dict[str, Any]:
    return {
        "error": {
            "message": "Error validating access token: Session has expired on Friday, 13-Jun-25 "
            "07:00:00 PDT. The current time is Friday, 13-Jun-25 08:12:01 PDT.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "A1b2C3d4E5f6",
        }
    }


@dataclass
class StoredMedia:
    data: bytes
    mime_type: str
    file_size: int  # what GET /{media_id} claims; may differ from len(data) in tests
    chunked: bool = False  # served without Content-Length, as a stream


@dataclass
class Upload:
    file_name: str
    content_type: str
    data: bytes
    type: str
    messaging_product: str


class FakeWhatsApp(FakeProvider):
    def __init__(self, access_token: str = ACCESS_TOKEN, phone_number_id: str = PHONE_NUMBER_ID) -> None:
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.phone_number = {
            "display_phone_number": "+1 555-078-3881",
            "verified_name": "ChatHub Support",
            "quality_rating": "GREEN",
            "id": phone_number_id,
        }
        self.media: dict[str, StoredMedia] = {}
        self.uploads: dict[str, Upload] = {}
        self._ids = itertools.count(1)
        super().__init__()

    def add_media(
        self, media_id: str, data: bytes, *, mime_type: str, file_size: int | None = None, chunked: bool = False
    ) -> None:
        self.media[media_id] = StoredMedia(data, mime_type, len(data) if file_size is None else file_size, chunked)

    def add_routes(self) -> None:
        app = self.app

        @app.post("/{phone_number_id}/messages")
        async def messages(request: Request, phone_number_id: str) -> Response:
            body = await _json(request)
            name = "typing" if isinstance(body, dict) and body.get("status") == "read" else "messages"
            return await self._answer(request, name, phone_number_id, lambda: self._message(body))

        @app.post("/{phone_number_id}/media")
        async def upload(request: Request, phone_number_id: str) -> Response:
            scripted = await self.record(request, "upload")
            if scripted is not None:
                return scripted.to_response()
            refused = self._refusal(request, phone_number_id)
            if refused is not None:
                return refused
            form = await request.form()
            file, kind, product = form.get("file"), form.get("type"), form.get("messaging_product")
            if not isinstance(file, UploadFile) or not kind or product != "whatsapp":
                return JSONResponse(
                    graph_error(
                        100, "Invalid parameter", details="file, type and messaging_product=whatsapp are required"
                    ),
                    status_code=400,
                )
            data = await file.read()
            media_id = f"{900000000000000 + next(self._ids)}"
            self.uploads[media_id] = Upload(file.filename or "", file.content_type or "", data, str(kind), product)
            self.add_media(media_id, data, mime_type=str(kind))
            return JSONResponse({"id": media_id})

        @app.get("/download/{media_id}")
        async def download(request: Request, media_id: str) -> Response:
            scripted = await self.record(request, "download")
            if scripted is not None:
                return scripted.to_response()
            if not self._authorized(request):
                return JSONResponse(expired_token_error(), status_code=401)
            stored = self.media.get(media_id)
            if stored is None:
                return Response(b"Not Found", status_code=404)
            if stored.chunked:
                chunks = [stored.data[i : i + 256] for i in range(0, len(stored.data), 256)]
                return StreamingResponse(iter(chunks), media_type=stored.mime_type)
            return Response(stored.data, media_type=stored.mime_type)

        @app.get("/{object_id}")
        async def graph_object(request: Request, object_id: str) -> Response:
            if object_id == self.phone_number_id:
                return await self._answer(request, "phone_number", object_id, lambda: self._number(request))
            return await self._answer(request, "media", self.phone_number_id, lambda: self._media_info(object_id))

    async def _answer(self, request: Request, name: str, phone_number_id: str, build) -> Response:
        scripted = await self.record(request, name)
        if scripted is not None:
            return scripted.to_response()
        refused = self._refusal(request, phone_number_id)
        return refused if refused is not None else build()

    def _refusal(self, request: Request, phone_number_id: str) -> Response | None:
        if not self._authorized(request):
            return JSONResponse(expired_token_error(), status_code=401)
        if phone_number_id != self.phone_number_id:
            return JSONResponse(_missing_object("post", phone_number_id), status_code=400)
        return None

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.access_token}"

    def _message(self, body: Any) -> Response:
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return _invalid("The parameter messaging_product is required.")
        if body.get("status") == "read":
            if not body.get("message_id"):
                return _invalid("The parameter message_id is required.")
            return JSONResponse({"success": True})
        to, recipient = body.get("to"), body.get("recipient")
        if not to and not recipient:
            return _invalid("The parameter to is required.")
        kind = body.get("type")
        if kind not in MESSAGE_KINDS or not isinstance(body.get(kind), dict):
            return _invalid(f"The parameter {kind} is required.")
        if kind in MEDIA_KINDS:
            media = body[kind]
            if not media.get("link") and media.get("id") not in self.media:
                return JSONResponse(
                    graph_error(131053, "Media upload error", details="Unable to retrieve media for the given id."),
                    status_code=400,
                )
        contact = {"input": to, "wa_id": to} if to else {"input": recipient, "user_id": recipient}
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [contact],
                "messages": [{"id": f"wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI{next(self._ids):06d}"}],
            }
        )

    def _number(self, request: Request) -> Response:
        fields = (request.query_params.get("fields") or "").split(",")
        return JSONResponse({k: v for k, v in self.phone_number.items() if k in fields or k == "id"})

    def _media_info(self, media_id: str) -> Response:
        stored = self.media.get(media_id)
        if stored is None:
            return JSONResponse(_missing_object("get", media_id), status_code=400)
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/download/{media_id}",
                "mime_type": stored.mime_type,
                "sha256": hashlib.sha256(stored.data).hexdigest(),
                "file_size": str(stored.file_size),
                "id": media_id,
            }
        )


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _invalid(details: str) -> JSONResponse:
    return JSONResponse(graph_error(100, "Invalid parameter", details=details), status_code=400)


def _missing_object(verb: str, object_id: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Unsupported {verb} request. Object with ID '{object_id}' does not exist, cannot be "
            "loaded due to missing permissions, or does not support this operation.",
            "type": "GraphMethodException",
            "code": 100,
            "error_subcode": 33,
            "fbtrace_id": "Ax1By2Cz3",
        }
    }
