"""A fake Telegram Bot API: `/bot{token}/{method}` answering {"ok": true, "result": ...} or
{"ok": false, "error_code", "description", "parameters"?} like the real one, taking JSON, form and multipart
bodies; `/file/bot{token}/{file_path}` serves the bytes registered with `add_file`.

    with FakeTelegram() as fake:
        fake.add_file("AgAD-photo", b"...", file_path="photos/file_1.jpg")
        fake.blocked_chats.add("555")                      # sendMessage to 555 -> 403 blocked
        fake.script.queue("sendMessage", 429, too_many_requests(5))
        fake.calls_to("sendMessage")[0].params["text"]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from tests.fakes.server import FakeProvider

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
DOWNLOAD_LIMIT = 20 * 1024 * 1024
MEDIA_FIELDS = {
    "sendPhoto": "photo",
    "sendDocument": "document",
    "sendAudio": "audio",
    "sendVoice": "voice",
    "sendVideo": "video",
    "sendSticker": "sticker",
    "sendAnimation": "animation",
}
CHAT_ACTIONS = {
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
}


def failure(error_code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def too_many_requests(retry_after: int) -> dict[str, Any]:
    return failure(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


@dataclass
class Upload:
    file_name: str
    content_type: str
    data: bytes


@dataclass
class TelegramCall:
    """A Bot API call as the fake understood it: parameters from JSON, form, multipart or query."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)


@dataclass
class StoredFile:
    data: bytes
    file_path: str
    size: int


class FakeTelegram(FakeProvider):
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "ChatHub Support",
            "username": "chathub_support_bot",
        }
        self.files: dict[str, StoredFile] = {}
        self.blocked_chats: set[str] = set()
        self.webhook: dict[str, Any] = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        self.webhook_secret: str | None = None
        self.calls: list[TelegramCall] = []
        self._next_message_id = 100
        super().__init__()

    def add_file(self, file_id: str, data: bytes, *, file_path: str, size: int | None = None) -> None:
        """Register a file for getFile and the download route; `size` may claim more than `data` holds."""
        self.files[file_id] = StoredFile(data, file_path, len(data) if size is None else size)

    def calls_to(self, method: str) -> list[TelegramCall]:
        return [call for call in self.calls if call.method == method]

    def add_routes(self) -> None:
        @self.app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def bot_method(token: str, method: str, request: Request) -> Response:
            await request.body()  # cached, so the form parser and `record` can both read it
            params, files = await _read_params(request)
            self.calls.append(TelegramCall(method, params, files))  # on arrival, before any scripted delay
            scripted = await self.record(request, method)
            if token != self.token:
                return _answer(failure(401, "Unauthorized"))
            if scripted is not None:
                return scripted.to_response()
            return _answer(self._handle(method, params, files))

        @self.app.get("/file/bot{token}/{file_path:path}")
        async def download(token: str, file_path: str, request: Request) -> Response:
            scripted = await self.record(request, "download")
            if token != self.token:
                return _answer(failure(401, "Unauthorized"))
            if scripted is not None:
                return scripted.to_response()
            for stored in self.files.values():
                if stored.file_path == file_path:
                    return Response(stored.data, media_type="application/octet-stream")
            return _answer(failure(404, "Not Found"))

    # ---- what each method does when nothing is scripted ----

    def _handle(self, method: str, params: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        if method == "getMe":
            return _ok(self.bot)
        if method in ("sendMessage", "sendLocation", "sendVenue", *MEDIA_FIELDS):
            return self._send(method, params, files)
        if method == "sendChatAction":
            if params.get("action") not in CHAT_ACTIONS:
                return failure(400, "Bad Request: wrong parameter action in request")
            return self._blocked(params) or _ok(True)
        if method == "getFile":
            return self._get_file(str(params.get("file_id") or ""))
        if method == "setWebhook":
            return self._set_webhook(params)
        if method == "getWebhookInfo":
            return _ok(dict(self.webhook))
        if method == "deleteWebhook":
            self.webhook["url"] = ""
            return {"ok": True, "result": True, "description": "Webhook was deleted"}
        return failure(404, "Not Found")

    def _blocked(self, params: dict[str, Any]) -> dict[str, Any] | None:
        if not params.get("chat_id"):
            return failure(400, "Bad Request: chat_id is empty")
        if str(params["chat_id"]) in self.blocked_chats:
            return failure(403, "Forbidden: bot was blocked by the user")
        return None

    def _send(self, method: str, params: dict[str, Any], files: dict[str, Upload]) -> dict[str, Any]:
        if refusal := self._blocked(params):
            return refusal
        chat_id = str(params["chat_id"])
        message: dict[str, Any] = {
            "chat": {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"},
            "from": self.bot,
            "date": int(time.time()),
        }
        if method == "sendMessage":
            text = str(params.get("text") or "")
            if not text.strip():
                return failure(400, "Bad Request: message text is empty")
            if len(text) > 4096:
                return failure(400, "Bad Request: message is too long")
            message["text"] = text
        elif method in ("sendLocation", "sendVenue"):
            message["location"] = {"latitude": float(params["latitude"]), "longitude": float(params["longitude"])}
            if method == "sendVenue":
                message["venue"] = {
                    "location": message["location"],
                    "title": params.get("title"),
                    "address": params.get("address"),
                }
        else:
            field_name = MEDIA_FIELDS[method]
            if field_name not in files and not params.get(field_name):
                return failure(400, f"Bad Request: there is no {field_name} in the request")
            if len(str(params.get("caption") or "")) > 1024:
                return failure(400, "Bad Request: message caption is too long")
            message[field_name] = {"file_id": f"sent-{field_name}-{self._next_message_id}"}
            if params.get("caption"):
                message["caption"] = params["caption"]
        self._next_message_id += 1
        message["message_id"] = self._next_message_id
        return _ok(message)

    def _get_file(self, file_id: str) -> dict[str, Any]:
        stored = self.files.get(file_id)
        if stored is None:
            return failure(400, "Bad Request: invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            return failure(400, "Bad Request: file is too big")
        return _ok(
            {
                "file_id": file_id,
                "file_unique_id": f"u-{file_id}",
                "file_size": stored.size,
                "file_path": stored.file_path,
            }
        )

    def _set_webhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            return failure(400, "Bad Request: bad webhook: HTTPS url must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not (
            1 <= len(str(secret)) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in str(secret))
        ):
            return failure(400, "Bad Request: bad webhook: secret token contains unallowed characters")
        self.webhook.update(
            url=url, allowed_updates=params.get("allowed_updates"), max_connections=params.get("max_connections", 40)
        )
        self.webhook_secret = secret
        return {"ok": True, "result": True, "description": "Webhook was set"}


def _ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def _answer(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=200 if body.get("ok") else body["error_code"])


async def _read_params(request: Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    params: dict[str, Any] = dict(request.query_params)
    files: dict[str, Upload] = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            body = None
        params.update(body if isinstance(body, dict) else {})
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = Upload(value.filename or "", value.content_type or "", await value.read())
                else:
                    params[key] = value
    return params, files
