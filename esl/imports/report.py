"""What an import did, and the per-row problems of a rejected file."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ImportReport"]


@dataclass(frozen=True, slots=True)
class ImportReport:
    kind: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    publication_id: int | None

    @property
    def changed(self) -> bool:
        return self.inserted + self.updated > 0

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "publication_id": self.publication_id,
        }
