"""Access token and upload size, checked before any route runs (a pure ASGI middleware).

With a token every request must carry it: ``Authorization: Bearer TOKEN``, the ``X-Exoniche-Token``
header, the ``exoniche_token`` cookie, or ``?token=TOKEN`` once (the page then sets the cookie, so links
work). Otherwise 401. A body larger than ``max_body`` bytes gets 413, whether it announces its length or not.
"""

from __future__ import annotations

import json
import secrets
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

COOKIE = "exoniche_token"


async def _send_error(send, status: int, message: str, headers: list | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class SecurityMiddleware:
    """ASGI middleware: token check, body-size limit and security headers for every request."""

    def __init__(self, app, token: str | None = None, max_body: int = 50 * 2**20):
        self.app = app
        self.token = token
        self.max_body = max_body

    def _given_token(self, scope) -> tuple[str | None, bool]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        if "x-exoniche-token" in headers:
            return headers["x-exoniche-token"], False
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            return query["token"][0], True
        cookie = SimpleCookie(headers.get("cookie", ""))
        if COOKIE in cookie:
            return cookie[COOKIE].value, False
        return None, False

    async def __call__(self, scope, receive, send):
        """Check the request, then pass it to the wrapped app."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        set_cookie = False
        if self.token is not None:
            given, from_query = self._given_token(scope)
            if given is None or not secrets.compare_digest(given.encode(), self.token.encode()):
                return await _send_error(send, 401, "missing or wrong token: this server was started with --token; "
                                                    "send 'Authorization: Bearer TOKEN' or open the page with "
                                                    "?token=TOKEN", [(b"www-authenticate", b"Bearer")])
            set_cookie = from_query
        for k, v in scope.get("headers", []):
            if k.lower() == b"content-length" and v.isdigit() and int(v) > self.max_body:
                return await _send_error(send, 413, f"request body of {int(v) / 2**20:.1f} MB is over the upload "
                                                    f"limit (--max-upload-mb)")
        received = 0
        too_large = False

        async def limited_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        started = False

        async def guarded_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                if too_large:
                    return
                started = True
                if set_cookie:
                    cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()
                    message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            if too_large and not started:
                return
            await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if too_large and not started:
            await _send_error(send, 413, "request body is over the upload limit (--max-upload-mb)")
