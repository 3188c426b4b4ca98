"""Render once per distinct label: a cache keyed by (template version, model, content).

A chain shows the same product at the same price on the same model in hundreds of
stores; `RenderCache.render` draws it once and hands out the same `RenderedLabel`
(image, planes, content hash) to every store. Encodings are cached too: the full image
per content hash, and deltas per (image on the label, new image), since many labels
move from the same old price to the same new one.
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from PIL import Image

from rendering.content import LabelContent
from rendering.display_models import DisplayModel
from rendering.encoding import (
    Planes,
    content_hash,
    encode_delta,
    encode_full,
    planes_from_image,
    raw_planes,
)
from rendering.findings import LabelFinding
from rendering.render import raise_if_unlawful, render_checked
from rendering.templates import Template, default_template

__all__ = ["RenderCache", "RenderKey", "RenderedLabel"]

RenderKey = tuple[str, str, str]  # (template id@version, model id, content fingerprint)

_K = TypeVar("_K")
_V = TypeVar("_V")


@dataclass(frozen=True, slots=True)
class RenderedLabel:
    key: RenderKey
    image: Image.Image  # palette preview; shared between callers, do not draw on it
    planes: Planes
    content_hash: bytes
    findings: tuple[LabelFinding, ...] = ()  # codes left off and why (rendering/findings.py)


class _Lru(Generic[_K, _V]):
    __slots__ = ("_entries", "_limit")

    def __init__(self, limit: int) -> None:
        self._entries: OrderedDict[_K, _V] = OrderedDict()
        self._limit = limit

    def get(self, key: _K) -> _V | None:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: _K, value: _V) -> None:
        self._entries[key] = value
        if len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class RenderCache:
    """Least-recently-used caches of rendered labels and their encodings (not thread-safe)."""

    def __init__(self, *, max_labels: int = 20_000, max_deltas: int = 20_000) -> None:
        self._labels: _Lru[RenderKey, RenderedLabel] = _Lru(max_labels)
        self._full: _Lru[bytes, bytes] = _Lru(max_labels)
        self._quick: _Lru[bytes, int] = _Lru(max_labels)
        self._deltas: _Lru[tuple[bytes, bytes], bytes] = _Lru(max_deltas)
        self.renders = 0
        self.hits = 0

    def render(
        self,
        content: LabelContent,
        *,
        model: DisplayModel,
        template: Template | None = None,
        allow_unlawful: bool = False,
    ) -> RenderedLabel:
        """The label, rendered once per key; `UnlawfulLabelError` as in `render_checked`."""
        chosen = template or default_template(model)
        key = (chosen.cache_key, model.id, content.fingerprint)
        cached = self._labels.get(key)
        if cached is not None:
            if not allow_unlawful:
                raise_if_unlawful(cached.findings)
            self.hits += 1
            return cached
        result = render_checked(
            content, model=model, template=chosen, allow_unlawful=allow_unlawful
        )
        planes = planes_from_image(result.image, has_accent=model.has_accent)
        rendered = RenderedLabel(
            key=key,
            image=result.image,
            planes=planes,
            content_hash=content_hash(planes),
            findings=result.findings,
        )
        self._labels.put(key, rendered)
        self.renders += 1
        return rendered

    def full(self, rendered: RenderedLabel) -> bytes:
        """The full-image encoding of `rendered`."""
        encoded = self._full.get(rendered.content_hash)
        if encoded is None:
            encoded = encode_full(rendered.planes)
            self._full.put(rendered.content_hash, encoded)
        return encoded

    def update(
        self, *, shown: Planes | None, new: RenderedLabel, shown_hash: bytes | None = None
    ) -> tuple[bytes, bool]:
        """(the bytes that move a label from `shown` (None if unknown) to `new`, whether
        they are a delta): the delta when it is smaller than the full image, else the
        full image. `shown_hash` is `content_hash(shown)` when the caller knows it.

        The full encoding (level-9 deflate, four ways) costs ten times the delta, and a
        price change's delta is a sixth of it, so it is computed only when the delta is
        not clearly smaller: above half of a level-1 deflate of the planes, which the
        full encoding never beats by half.
        """
        if shown is None or (shown.width, shown.height, shown.has_accent) != (
            new.planes.width,
            new.planes.height,
            new.planes.has_accent,
        ):
            return self.full(new), False
        key = (shown_hash or content_hash(shown), new.content_hash)
        delta = self._deltas.get(key)
        if delta is None:
            delta = encode_delta(shown, new.planes)
            self._deltas.put(key, delta)
        if 2 * len(delta) <= self._quick_size(new):
            return delta, True
        full = self.full(new)
        return (delta, True) if len(delta) < len(full) else (full, False)

    def _quick_size(self, rendered: RenderedLabel) -> int:
        size = self._quick.get(rendered.content_hash)
        if size is None:
            size = len(zlib.compress(raw_planes(rendered.planes), 1))
            self._quick.put(rendered.content_hash, size)
        return size

    def __len__(self) -> int:
        return len(self._labels)
