"""Body limits and content types, checked before any endpoint reads a byte."""

from __future__ import annotations

import asyncio
import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from payamak.api.errors import error_body

_MESSAGES = {
    "body_too_large": (
        "حجم درخواست از حد مجاز ({limit} بایت) بیشتر است.",
        "The request body exceeds the limit of {limit} bytes.",
    ),
    "unsupported_media_type": (
        "نوع محتوا باید {expected} باشد.",
        "The content type must be {expected}.",
    ),
}


class BodyGuard:
    """Refuses bodies over the limit (413), and API bodies that are neither JSON nor an allowed upload (415).

    Counts bytes as they arrive, so a client that lies in Content-Length or sends chunks is
    stopped at the limit instead of filling memory.
    """

    def __init__(
        self, app: ASGIApp, *, max_body: int, max_upload: int, upload_paths: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        is_upload = content_type == "multipart/form-data" and any(path.endswith(p) for p in self.upload_paths)
        limit = self.max_upload if is_upload else self.max_body
        lang = "en" if headers.get("accept-language", "").lower().startswith("en") else "fa"

        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if path.startswith("/api/") and has_body:
            allowed = ("application/json",) + (("multipart/form-data",) if is_upload else ())
            if content_type not in allowed and not content_type.endswith("+json"):
                await _refuse(
                    send,
                    415,
                    "unsupported_media_type",
                    lang,
                    expected=" یا ".join(allowed) if lang == "fa" else " or ".join(allowed),
                )
                return

        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, 413, "body_too_large", lang, limit=limit)
            return

        received = 0
        too_large = False
        replaced = False

        async def counting_receive() -> Message:
            # Past the limit the body is cut short; whatever the app answers to the cut body is
            # then replaced by the 413 in `guarded_send`. Raising here would be caught by the
            # framework's body parser and turned into a vague 400.
            nonlocal received, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if too_large:
                if not replaced:
                    replaced = True
                    await _refuse(send, 413, "body_too_large", lang, limit=limit)
                return
            await send(message)

        await self.app(scope, counting_receive, guarded_send)


async def _refuse(send: Send, status: int, code: str, lang: str, **values: object) -> None:
    fa, en = _MESSAGES[code]
    detail = (en if lang == "en" else fa).format(**values)
    body = json.dumps(error_body(code, detail, **values), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ConcurrencyGate:
    """Lets at most `limit` requests into the application at once; the rest wait their turn here.

    A request's unit of work spans several trips to the worker-thread pool (authentication, the
    endpoint, the commit) and holds a database connection, and sometimes a lock, in between. With
    more requests inside than threads or connections, the one holding a lock can wait for a thread
    that every other request occupies while it waits for that lock. Queuing requests before they
    take anything keeps the number inside below both pools, so every one can finish.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.gate = asyncio.Semaphore(limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.gate:
            await self.app(scope, receive, send)
