"""The JSON API of ``linlens serve`` over the standard library's urllib (no HTTP dependency)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Optional

from .errors import LinlensError


class Api:
    """Requests to one server; every error answer becomes a :class:`LinlensError` with its message."""

    def __init__(self, url: str, timeout: float = 60.0):
        self.url = url if url.endswith("/") else url + "/"
        self.timeout = timeout
        # the server is local: no proxy from the environment may stand in between
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def get_json(self, path: str) -> Any:
        return json.loads(self.get_bytes(path))

    def get_bytes(self, path: str) -> bytes:
        return self._send(urllib.request.Request(self.url + path, method="GET"))

    def post_json(self, path: str, body: dict) -> Any:
        data = json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        return json.loads(self._send(req))

    def delete_json(self, path: str) -> Any:
        return json.loads(self._send(urllib.request.Request(self.url + path, method="DELETE")))

    def _send(self, req: urllib.request.Request) -> bytes:
        try:
            with self._opener.open(req, timeout=self.timeout) as answer:
                return answer.read()
        except urllib.error.HTTPError as e:
            raise _api_error(e) from None
        except urllib.error.URLError as e:
            raise LinlensError(f"cannot reach the Linear Lens server at {self.url}: {e.reason}") from None


def _api_error(e: urllib.error.HTTPError) -> LinlensError:
    """The server's ``{"error": ..., "status": N}`` as an exception with the same line."""
    body: Optional[bytes]
    try:
        body = e.read()
    except OSError:
        body = None
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        return LinlensError(doc["error"], int(doc.get("status", e.code)))
    return LinlensError(f"HTTP {e.code} {e.reason}", e.code)
