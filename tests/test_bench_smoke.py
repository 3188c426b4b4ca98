"""Every `esl bench` suite runs end to end at a tiny size and reports its figures."""

from __future__ import annotations

import json
import numbers

import pytest
from typer.testing import CliRunner

from esl.bench import available_suites, load_suite
from esl.cli import app


def test_an_unknown_suite_is_refused_with_the_list_of_known_ones() -> None:
    result = CliRunner().invoke(app, ["bench", "no-such-suite", "--json"])
    assert result.exit_code == 2


@pytest.mark.parametrize("suite", available_suites())
def test_suite_prints_one_json_object_with_its_figures(suite: str) -> None:
    result = CliRunner().invoke(app, ["bench", suite, "--json", "--smoke"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["suite"] == suite
    for key in load_suite(suite).REQUIRED_KEYS:
        assert key in figures, key
        value = figures[key]
        if isinstance(value, numbers.Number):
            assert value >= 0, (key, value)
    if suite == "pipeline":
        # The flood rounds ran: the flooding store's login got through the broker's
        # password check and its excess over the smoke bound was dropped.
        assert figures["flood_uplinks_dropped"] > 0
    if suite == "audit":
        # Every label the bench seeds shows the prior price the engine printed for it.
        assert figures["prior_price_problems"] == 0
