"""The access point's HTTP interface, one call per endpoint (httpx stops here).

Requests follow what the AP parses: multipart text fields carry no Content-Type and come
before the image; no HEAD requests (the AP mishandles them).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import httpx

from gateways.oepl.errors import (
    AccessPointBusyError,
    AccessPointError,
    TagRefusedError,
    UnreadableRecordError,
)
from gateways.oepl.models import TagRecord, TagType

__all__ = ["AccessPointClient"]

_log = logging.getLogger(__name__)


class AccessPointClient:
    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def close(self) -> None:
        await self._http.aclose()

    async def tags(self) -> tuple[list[TagRecord], list[UnreadableRecordError]]:
        """Every tag in the AP's database, page by page (`pos`, while `continu`), and the
        records that could not be read, each with why: one bad record (of a tag we may
        not even drive) costs that record, not the others."""
        records: list[TagRecord] = []
        unreadable: list[UnreadableRecordError] = []
        pos = 0
        while True:
            page = await self._json("/get_db", params={"pos": pos} if pos else None)
            for entry in self._entries(page):
                try:
                    records.append(TagRecord.from_json(entry, ap=self.base_url))
                except UnreadableRecordError as error:
                    _log.warning("%s; the AP's other tags are read", error)
                    unreadable.append(error)
            following = page.get("continu", 0) or 0
            if not isinstance(following, int):
                raise AccessPointError(
                    ap=self.base_url, reason=f"GET /get_db: continu is {following!r}"
                )
            if following <= pos:
                return records, unreadable
            pos = following

    async def tag(self, mac: str) -> TagRecord | None:
        """`UnreadableRecordError` when the AP's record of it cannot be read."""
        page = await self._json("/get_db", params={"mac": mac.upper()})
        entries = self._entries(page)
        return TagRecord.from_json(entries[0], ap=self.base_url) if entries else None

    async def tag_type(self, hw_type: int) -> TagType | None:
        digits = 4 if hw_type > 0xFF else 2
        path = f"/tagtypes/{hw_type:0{digits}X}.json"
        response = await self._get(path)
        if response.status_code == 404:
            return None
        try:
            return TagType.from_json(hw_type, self._decode(response))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
            raise AccessPointError(
                ap=self.base_url, reason=f"{path}: not a tag type ({error!r})"
            ) from None

    async def upload(self, mac: str, jpeg: bytes) -> None:
        """`POST /imgupload` with `dither=0`; 409 raises `AccessPointBusyError`."""
        fields = {"mac": mac.upper(), "dither": "0", "contentmode": "24", "ttl": "0"}
        try:
            response = await self._http.post(
                "/imgupload", data=fields, files={"image": ("image.jpg", jpeg, "image/jpeg")}
            )
        except httpx.HTTPError as error:
            raise AccessPointError(ap=self.base_url, reason=f"upload failed: {error}") from None
        if response.status_code == 409:
            raise AccessPointBusyError(ap=self.base_url, reason=response.text.strip())
        self._check(response, mac=mac)

    async def stored_image(self, mac: str) -> bytes | None:
        response = await self._get(f"/current/{mac.upper()}.raw")
        if response.status_code == 404:
            return None
        self._check(response, mac=mac, image=True)
        return response.content

    async def led_flash(self, mac: str, pattern: str) -> None:
        response = await self._get("/led_flash", params={"mac": mac.upper(), "pattern": pattern})
        self._check(response, mac=mac)

    async def tag_command(self, mac: str, command: str) -> None:
        try:
            response = await self._http.post("/tag_cmd", data={"mac": mac.upper(), "cmd": command})
        except httpx.HTTPError as error:
            raise AccessPointError(ap=self.base_url, reason=str(error)) from None
        self._check(response, mac=mac)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            return await self._http.get(path, params=params)
        except httpx.HTTPError as error:
            raise AccessPointError(ap=self.base_url, reason=f"GET {path}: {error}") from None

    async def _json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self._get(path, params)
        if response.status_code != 200:
            raise AccessPointError(
                ap=self.base_url, reason=f"GET {path}: HTTP {response.status_code}"
            )
        return self._decode(response)

    def _entries(self, page: dict[str, Any]) -> list[object]:
        entries = page.get("tags", [])
        if not isinstance(entries, list):
            raise AccessPointError(ap=self.base_url, reason="GET /get_db: tags is not a list")
        return entries

    def _decode(self, response: httpx.Response) -> dict[str, Any]:
        try:
            document = json.loads(response.content, parse_int=_integer)
        except (ValueError, RecursionError):  # nested deeper than the decoder goes
            document = None
        if not isinstance(document, dict):
            raise AccessPointError(ap=self.base_url, reason=f"{response.url.path}: not JSON")
        return document

    def _check(self, response: httpx.Response, *, mac: str, image: bool = False) -> None:
        """`TagRefusedError` when the AP refused the request for this tag for good: a 4xx
        with its plain-text reason, or a 200 with an "Error..." body (some handlers fail so:
        save_cfg, for one). A server error (5xx: rebooting, out of heap) or an answer the
        AP's handlers never give (another status, an HTML page from whatever answers on its
        address) may go away: `AccessPointError`, and the request is tried again later.
        `image`: a 200 carries an image, whose bytes are no text to read."""
        status = response.status_code
        body = "" if image and status == 200 else response.text.strip()
        where = f"{response.request.method} {response.url.path}"
        if body.startswith("<"):
            raise AccessPointError(
                ap=self.base_url, reason=f"{where}: HTTP {status} with an HTML page"
            )
        if 400 <= status < 500 or (status == 200 and body.lower().startswith("error")):
            raise TagRefusedError(ap=self.base_url, mac=mac, reason=f"HTTP {status}: {body}")
        if status != 200:
            raise AccessPointError(ap=self.base_url, reason=f"{where}: HTTP {status}: {body[:200]}")


def _integer(text: str) -> int | str:
    """A JSON integer, or its digits when longer than Python reads (4,300 digits unless
    set otherwise): `json.loads` raised ValueError for it, which failed the whole answer as
    "not JSON", every tag with it. As text it is no number to a field that wants one, so
    `TagRecord.from_json` refuses that record alone."""
    limit = sys.get_int_max_str_digits()
    return text if limit and len(text.lstrip("-")) > limit else int(text)
