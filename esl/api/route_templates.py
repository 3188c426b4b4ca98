"""Which operation of the OpenAPI document a concrete path belongs to.

Used where the answer must agree with the document: the `Allow` header of a 405 lists
every method the document gives the path, and API latency is recorded per path template
(`/api/v1/labels/{label_id}`), one series per operation rather than one per label.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

__all__ = ["OperationPaths", "operation_paths"]


class OperationPaths:
    def __init__(self, document: dict[str, Any]) -> None:
        # (template, METHOD) -> query parameters that take one value (not an array)
        self._scalars: dict[tuple[str, str], frozenset[str]] = {
            (template, method.upper()): frozenset(
                parameter["name"]
                for parameter in operation.get("parameters", [])
                if parameter.get("in") == "query" and not _is_array(parameter.get("schema", {}))
            )
            for template, operations in document.get("paths", {}).items()
            for method, operation in operations.items()
            if method != "parameters"
        }
        self._paths = [
            (
                re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + r"\Z"),
                template,
                frozenset(name.upper() for name in operations if name != "parameters"),
            )
            for template, operations in document.get("paths", {}).items()
        ]

    def template(self, path: str) -> str | None:
        return next((t for pattern, t, _ in self._paths if pattern.match(path)), None)

    def methods(self, path: str) -> list[str]:
        found: set[str] = set()
        for pattern, _, methods in self._paths:
            if pattern.match(path):
                found |= methods
        return sorted(found)

    def single_valued_query(self, path: str, method: str) -> frozenset[str]:
        """Query parameters of this operation that must not be given twice."""
        template = self.template(path)
        if template is None:
            return frozenset()
        return self._scalars.get((template, method.upper()), frozenset())


# Per app, for as long as the app lives: a cache holding apps (an lru_cache of 8 did) kept
# each one's database engine, metrics and routes alive after its server was gone.
_compiled: weakref.WeakKeyDictionary[Any, OperationPaths] = weakref.WeakKeyDictionary()


def operation_paths(app: Any) -> OperationPaths:
    """The app's operations, compiled once per app."""
    found = _compiled.get(app)
    if found is None:
        found = _compiled[app] = OperationPaths(app.openapi())
    return found


def _is_array(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return True
    return any(_is_array(option) for option in schema.get("anyOf", []))
