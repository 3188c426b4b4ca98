"""One copy of each displayed image, shared by every simulated label that shows it.

A store shows the same price on many labels, and a label's pages often repeat; holding
planes once per content hash keeps thousands of labels in one process small.
"""

from __future__ import annotations

from collections.abc import Iterable

from rendering.encoding import Planes

__all__ = ["ImageStore"]


class ImageStore:
    __slots__ = ("_planes",)

    def __init__(self) -> None:
        self._planes: dict[bytes, Planes] = {}

    def intern(self, digest: bytes, planes: Planes) -> Planes:
        """The stored planes for `digest`, storing `planes` if it is new."""
        return self._planes.setdefault(digest, planes)

    def get(self, digest: bytes) -> Planes | None:
        return self._planes.get(digest)

    def retain(self, digests: Iterable[bytes]) -> None:
        """Forget every image not in `digests` (the ones labels still hold)."""
        keep = set(digests)
        for digest in [d for d in self._planes if d not in keep]:
            del self._planes[digest]

    def __len__(self) -> int:
        return len(self._planes)

    def __contains__(self, digest: object) -> bool:
        return digest in self._planes
