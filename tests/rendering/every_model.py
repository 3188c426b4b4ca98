"""Every display model, for the rendering tests that must hold on each of them."""

from __future__ import annotations

import pytest

from rendering.display_models import DISPLAY_MODELS

__all__ = ["MODELS", "each_model"]

MODELS = sorted(DISPLAY_MODELS.values(), key=lambda m: m.id)
# The test runs once per model (its `model` argument), named by the model's id.
each_model = pytest.mark.parametrize("model", MODELS, ids=lambda m: m.id)
