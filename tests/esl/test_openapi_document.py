"""Every app `create_app` builds serves one OpenAPI document, built once per process
(`esl.api.openapi_document`): that holds only while no route depends on the settings or
the database, so an app built with other settings must build, on its own, the very
document the first one shared."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine

from esl.api.app import create_app
from esl.settings import Settings


def test_apps_of_other_settings_share_the_document_each_would_build(tmp_path: Path) -> None:
    first = create_app(Settings.defaults(), engine=create_engine("sqlite://"))
    other_settings = Settings.defaults().model_copy(
        update={"locale": "en_GB", "currency": "GBP", "data_dir": tmp_path}
    )
    other = create_app(other_settings, engine=create_engine(f"sqlite:///{tmp_path}/other.db"))

    shared = first.openapi()
    assert other.openapi() is shared

    other.openapi_schema = None
    built_alone = type(other).openapi(other)
    assert built_alone is not shared
    assert built_alone == shared
