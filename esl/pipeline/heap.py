"""The controller's settings for CPython's cyclic garbage collector while it runs.

A running controller holds a large heap that lives as long as the process (mapped
classes, compiled statements, label keys, the render cache), and each publication makes
hundreds of thousands of short-lived containers (rows, states, frames). With CPython's
default thresholds (a young collection every 700 allocations) those containers survive
into the oldest generation, and each full collection then walks the whole heap: 0.7 of
the 4.5 CPU seconds a publication of 10,000 labels cost (measured with `gc.callbacks`
in `esl bench pipeline`). So while the controller runs:

- what was alive at start-up is frozen (`gc.freeze`): never walked again;
- a young collection runs every `YOUNG_THRESHOLD` allocations, by which time most of a
  plan's containers are freed by reference counting and never reach an older generation.

Reference counting frees everything as usual; only garbage in reference cycles waits a
little longer for its collection. Settings are process-wide, so nested or concurrent
controllers (tests run several) share one application: the outermost one restores the
previous settings when it stops.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "long_running_heap"]

YOUNG_THRESHOLD = 50_000  # container allocations between young collections (default 700)

_depth = 0


@contextmanager
def long_running_heap() -> Iterator[None]:
    """Freeze the start-up heap and raise the young-generation threshold until exit."""
    global _depth
    _depth += 1
    previous = gc.get_threshold()
    if _depth == 1:
        # The young generations only: what they hold is most of the garbage a freeze
        # would keep. A full collection walks the whole heap, about a second in a test
        # process that has run hundreds of tests (once per controller started), and at
        # a controller's start-up the oldest generation holds little garbage.
        gc.collect(1)
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, previous[1], previous[2])
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.set_threshold(*previous)
            gc.unfreeze()
