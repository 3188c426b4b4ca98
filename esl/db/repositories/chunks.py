"""Many values in bounded pieces: IN lists for reads, batches for writes.

An `IN (...)` with one bound parameter per value must stay under the driver's limit
(SQLite allowed 999 before 3.32, PostgreSQL's protocol 65,535 per statement) and under
the size where the planner stops using the index well; 500 is safely below both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TypeVar

__all__ = ["CHUNK", "in_chunks"]

CHUNK = 500

T = TypeVar("T")


def in_chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    """`values` in lists of at most `size`, in the order given (sort first for a stable
    query order); nothing for no values."""
    if size < 1:
        raise ValueError(f"a chunk holds at least one value, not {size}")
    iterator = iter(values)
    while chunk := list(islice(iterator, size)):
        yield chunk
