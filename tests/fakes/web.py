"""A web server a customer points at: files and redirects on 127.0.0.1, every request recorded.

with FakeWebsite() as site:
    site.add_file("/cat.jpg", JPEG, "image/jpeg")   # site.url("/cat.jpg")
    site.add_redirect("/go", "http://10.0.0.1/")
    ...
    site.requests                                  # what reached it (nothing, when ChatHub refused)
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from tests.fakes.server import FakeProvider

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)


class FakeWebsite(FakeProvider):
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.redirects: dict[str, str] = {}
        super().__init__()

    def add_file(self, path: str, data: bytes, mime_type: str) -> str:
        self.files[path] = (data, mime_type)
        return self.url(path)

    def add_redirect(self, path: str, location: str) -> str:
        self.redirects[path] = location
        return self.url(path)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def add_routes(self) -> None:
        @self.app.api_route("/{path:path}", methods=["GET", "HEAD", "POST"])
        async def anything(request: Request, path: str) -> Response:
            await self.record(request, "/" + path)
            if ("/" + path) in self.redirects:
                return RedirectResponse(self.redirects["/" + path], status_code=302)
            if ("/" + path) in self.files:
                data, mime_type = self.files["/" + path]
                return Response(data, media_type=mime_type)
            return Response("not here", status_code=404)
