"""`esl bench mqtt` falls back to the embedded broker where Mosquitto is not installed."""

from __future__ import annotations

import pytest

from esl.bench import mqtt as mqtt_bench

pytestmark = pytest.mark.integration


def test_without_mosquitto_the_baseline_is_measured_through_the_embedded_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mqtt_bench, "find_mosquitto", lambda: None)
    figures = mqtt_bench.run(smoke=True)
    assert figures["broker"] == "amqtt (embedded)"
    assert figures["frames"] == 300
    assert isinstance(figures["raw_roundtrips_per_s"], float)
    assert figures["raw_roundtrips_per_s"] > 0


def test_with_mosquitto_installed_the_baseline_names_its_version() -> None:
    figures = mqtt_bench.run(smoke=True)
    assert str(figures["broker"]).startswith("mosquitto 2.")
    assert set(mqtt_bench.REQUIRED_KEYS) <= set(figures)
