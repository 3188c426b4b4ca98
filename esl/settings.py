"""One validated settings object, built once at start-up and passed in.

Values come from environment variables prefixed `ESL_` and, optionally, from a dotenv
file named by `ESL_ENV_FILE`. Nothing here connects to anything.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from esl.time_zones import check_time_zone
from pricing.errors import EslError, UnsupportedLocaleError
from pricing.label_text import label_language
from pricing.money import MINOR_UNITS
from rendering.locale_zones import locale_time_zone

__all__ = [
    "COMMAND_VARIABLES",
    "Settings",
    "SettingsFileError",
    "UnknownSettingError",
    "load_settings",
]

log = logging.getLogger(__name__)


class SettingsFileError(EslError):
    """`ESL_ENV_FILE` names a file that cannot be read (`path`, `reason`)."""

    code = "settings_file_unreadable"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"ESL_ENV_FILE names {path}, which cannot be read ({reason})", path=path, reason=reason
        )
        self.path = path
        self.reason = reason


class UnknownSettingError(EslError):
    """`ESL_ENV_FILE` (`path`) sets an `ESL_` variable (`name`) that is no setting;
    `nearest` is the setting it most looks like, when one does."""

    code = "unknown_setting"

    def __init__(self, path: str, name: str, nearest: str | None) -> None:
        guess = f": did you mean {nearest}?" if nearest else ": remove it, or correct its name"
        super().__init__(
            f"ESL_ENV_FILE {path} sets {name}, which is no setting{guess}",
            path=path,
            name=name,
            nearest=nearest,
        )
        self.path = path
        self.name = name
        self.nearest = nearest


A_YEAR_S = 365 * 24 * 3600
_Number = TypeVar("_Number", int, float)


def _a_duration_it_can_hold(seconds: _Number) -> _Number:
    # The composition root turns each into a timedelta that is added to instants:
    # infinity, NaN or more than a timedelta holds ended `esl run` in an OverflowError.
    # Nothing the controller waits for is longer than a year.
    if not (math.isfinite(seconds) and seconds <= A_YEAR_S):
        raise ValueError(f"must be a number of seconds up to {A_YEAR_S} (a year), not {seconds}")
    return seconds


Seconds = Annotated[float, AfterValidator(_a_duration_it_can_hold)]
WholeSeconds = Annotated[int, AfterValidator(_a_duration_it_can_hold)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESL_", extra="ignore")

    data_dir: Path = Field(
        default=Path("esl-data"), description="Where SQLite, previews and keys live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset means a SQLite file in data_dir."
    )
    broker_url: str | None = Field(
        default=None, description="mqtt://user:pass@host:port; unset starts an embedded broker."
    )
    locale: str = Field(default="pl_PL", description="The label texts' language and number format.")
    currency: str = Field(default="PLN", description="The system currency (ISO 4217).")
    time_zone: str | None = Field(
        default=None,
        description="The IANA time zone labels date in where a store names none; "
        "unset: the locale's (pl_PL: Europe/Warsaw); required with a locale of no "
        "single zone (en_US).",
    )
    api_host: str = Field(default="127.0.0.1", description="Where `esl serve` listens.")
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_page_limit: int = Field(default=500, ge=1, description="Largest page a list returns.")
    database_echo: bool = Field(default=False, description="Log every SQL statement.")
    database_busy_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="SQLite: how long one statement waits for another writer's lock.",
    )
    database_retry_first_s: Seconds = Field(
        default=0.5,
        gt=0,
        description="Controller: first wait after the database did not answer (then doubling).",
    )
    database_retry_longest_s: Seconds = Field(
        default=30.0,
        gt=0,
        description="Controller: longest wait between tries; it never stops trying.",
    )
    controller_lease_stale_s: Seconds = Field(
        default=60.0,
        gt=0,
        description="A controller silent this long (killed) may be replaced by another.",
    )
    controller_lease_renew_s: Seconds = Field(
        default=10.0, gt=0, description="How often the running controller renews its lease."
    )
    store_lease_stale_after: Seconds = Field(
        default=10.0,
        gt=0,
        description="Workers (PostgreSQL): a store whose worker is silent this long is taken over.",
    )
    store_lease_renew_s: Seconds = Field(
        default=2.0, gt=0, description="Workers (PostgreSQL): how often a worker renews its stores."
    )
    controller_window: int = Field(
        default=64, ge=1, description="Controller: frames in flight per store gateway."
    )
    mqtt_max_packet_bytes: int = Field(
        # gateways.mqtt.packet_size.DEFAULT_MAX_PACKET_BYTES (a test holds them equal),
        # written out: importing gateways.mqtt would load paho for every command.
        default=263_168,
        ge=512,
        le=268_435_460,
        description="The broker's packet limit (Mosquitto's max_packet_size; the default is "
        "what `esl mqtt config` writes): a frame whose MQTT packet is larger is refused "
        "and its update parked, instead of the broker dropping the link on it.",
    )
    controller_uplinks_per_store: int = Field(
        default=10_000,
        ge=1,
        description="Controller: one store's uplinks waiting to be settled (and queued in "
        "the MQTT driver); more are dropped and counted per store, their frames sent again.",
    )
    security_event_interval_s: Seconds = Field(
        default=60.0,
        gt=0,
        description="Controller: security events of one store, label and kind this close "
        "together are one row counting its repeats (a flood writes bounded rows).",
    )
    security_event_labels_per_interval: int = Field(
        default=100,
        ge=1,
        description="Controller: rows of one store and kind naming a label per interval; "
        "further labels share one row.",
    )
    controller_poll_s: Seconds = Field(
        default=1.0, ge=0.05, description="Controller: seconds between looks for new work."
    )
    retry_ack_timeout_s: Seconds = Field(
        default=120.0,
        gt=0,
        description="Controller: a frame unanswered this long is sent again (or parked).",
    )
    retry_base_delay_s: Seconds = Field(
        default=5.0, gt=0, description="Controller: wait before the first resend (then doubling)."
    )
    retry_max_delay_s: Seconds = Field(
        default=600.0, gt=0, description="Controller: longest wait between resends."
    )
    retry_max_attempts: int = Field(
        default=5, ge=1, description="Controller: sends of one frame before it is parked."
    )
    retry_busy_delay_s: Seconds = Field(
        default=20.0,
        gt=0,
        description="Controller: wait before asking a label that is refreshing its panel again.",
    )
    retry_waiting_limit_s: Seconds = Field(
        default=1_800.0,
        gt=0,
        description="Controller: a frame its gateway keeps reporting as queued at its radio "
        "(WAITING) is waited for this long from the update's first send, then parked offline.",
    )
    label_offline_after_s: WholeSeconds = Field(
        default=1_800,
        ge=1,
        description="Health, audit, demo: a label silent this long is offline. The "
        "controller pings a label silent 3 minutes less (at most 45, at least 5).",
    )
    label_low_battery_mv: int = Field(
        default=2_600,
        ge=0,
        description="Health, audit, demo: a battery under this is low (labels stop at 2.4 V).",
    )

    label_action_answer_timeout_s: Seconds = Field(
        default=60.0,
        gt=0,
        description="Controller: a flash or ping sent and unanswered this long is unanswered "
        "(a refresh: counted from when its image, then its Refresh Display, went out).",
    )
    label_action_not_sent_limit_s: Seconds = Field(
        default=600.0,
        gt=0,
        description="Controller: a refresh whose image has not gone out to the label this long "
        "after the controller took it up fails (planning never reached the label, or its "
        "gateway's window stayed full).",
    )
    label_action_wait_limit_s: Seconds = Field(
        default=120.0,
        gt=0,
        description="Controller: an action for a label busy with an update this long fails.",
    )
    label_action_busy_retry_s: Seconds = Field(
        default=5.0,
        gt=0,
        description="Controller: a label that answered an action busy is asked again after this.",
    )
    label_clock_tolerance_s: Seconds = Field(
        default=60.0,
        ge=0,
        description="Controller: a check-in whose label clock is off by more than this gets a "
        "signed SetClock (0: label clocks are neither set nor judged, as for simulated labels "
        "on an accelerated clock).",
    )
    label_vitals_every_s: Seconds = Field(
        default=3_600.0,
        ge=0,
        description="Controller: at most one battery and signal sample per label this often.",
    )
    label_vitals_keep_days: float = Field(
        default=90.0,
        gt=0,
        le=36_500,  # a timedelta (and the instant it is taken from) holds a century
        allow_inf_nan=False,
        description="Controller: battery and signal samples older than this are deleted.",
    )

    @field_validator("database_url")
    @classmethod
    def _usable_database_url(cls, value: str | None) -> str | None:
        if value:
            _check_database_url(value)
        return value

    @field_validator("locale")
    @classmethod
    def _labels_can_be_written(cls, value: str) -> str:
        # Refused at start: a locale without label texts let `esl run` start and leave
        # every label unplanned ("no label texts"), with no shelf getting a price.
        try:
            label_language(value)
        except UnsupportedLocaleError as error:
            raise ValueError(str(error)) from None
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        # The engine rounds to the currency's minor unit: an unknown code let the
        # controller start and fail at the first price.
        if value not in MINOR_UNITS:
            raise ValueError(
                f"unknown currency {value!r}: the engine knows {', '.join(sorted(MINOR_UNITS))}"
            )
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str | None) -> str | None:
        # Set but empty (`ESL_TIME_ZONE=`): unset, the locale's zone.
        return check_time_zone(value) if value else None

    @property
    def installation_time_zone(self) -> str | None:
        """The IANA zone the labels of a store naming none date in, and in which a time
        written without its offset is read to say which offset it has: `time_zone`, else
        the locale's (never None once validated, `_labels_can_be_dated`)."""
        return self.time_zone or locale_time_zone(self.locale)

    @model_validator(mode="after")
    def _labels_can_be_dated(self) -> Settings:
        # Refused at start rather than when the first promotion ends: a store without a
        # zone of its own would then date its labels in no zone, and every store may be
        # added later without one.
        if self.time_zone is None and locale_time_zone(self.locale) is None:
            raise ValueError(
                f"ESL_LOCALE {self.locale} names no country of one time zone for labels to "
                "date a promotion's last day in: set ESL_TIME_ZONE (an IANA name such as "
                "America/New_York), the zone of every store that names none of its own "
                "(time_zone of PUT /api/v1/stores/{code})"
            )
        return self

    @model_validator(mode="after")
    def _policies_can_hold(self) -> Settings:
        # A lease renewed no more often than it goes stale would be taken over from a
        # healthy controller by a second one.
        if self.controller_lease_renew_s >= self.controller_lease_stale_s:
            raise ValueError(
                f"ESL_CONTROLLER_LEASE_RENEW_S ({self.controller_lease_renew_s} s) must be "
                f"shorter than ESL_CONTROLLER_LEASE_STALE_S ({self.controller_lease_stale_s} s)"
                ": the running controller renews its lease more often than it goes stale"
            )
        if self.store_lease_renew_s >= self.store_lease_stale_after:
            raise ValueError(
                f"ESL_STORE_LEASE_RENEW_S ({self.store_lease_renew_s} s) must be shorter than "
                f"ESL_STORE_LEASE_STALE_AFTER ({self.store_lease_stale_after} s)"
            )
        if self.retry_max_delay_s < self.retry_base_delay_s:
            raise ValueError(
                f"ESL_RETRY_MAX_DELAY_S ({self.retry_max_delay_s} s) must be at least "
                f"ESL_RETRY_BASE_DELAY_S ({self.retry_base_delay_s} s)"
            )
        if self.retry_waiting_limit_s < self.retry_ack_timeout_s:
            # A shorter limit would park a frame its gateway says is queued before the
            # controller has waited even one answer timeout for it.
            raise ValueError(
                f"ESL_RETRY_WAITING_LIMIT_S ({self.retry_waiting_limit_s} s) must be at least "
                f"ESL_RETRY_ACK_TIMEOUT_S ({self.retry_ack_timeout_s} s)"
            )
        return self

    @classmethod
    def defaults(cls) -> Settings:
        """Every setting at its default, whatever the environment says: what benchmarks
        and tests build on, so they measure and check the same thing everywhere."""
        return cls.model_construct()

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'esl.sqlite').as_posix()}"


def _check_database_url(url: str) -> None:
    """ValueError unless SQLAlchemy can read `url`, knows its database, and this install
    has its driver, and unless it names an in-memory SQLite database; the message never
    repeats the URL (it may hold a password)."""
    # Imported here: commands that need no database (`esl render`) skip SQLAlchemy's
    # start-up.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError(_not_a_database_url("it cannot be read as a URL")) from None
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        reason = f"SQLAlchemy knows no database {parsed.drivername!r}"
        raise ValueError(_not_a_database_url(reason)) from None
    try:
        # The driver is imported only when the first connection is made: without this a
        # driver this install lacks (psycopg2, MySQLdb) ended every command as a bug.
        dialect.import_dbapi()
    except ImportError as error:
        module = error.name or str(error)
        raise ValueError(
            f"ESL_DATABASE_URL needs the database driver {module!r} (for "
            f"{parsed.drivername!r}), which is not installed: {_INSTALLED_DRIVER}"
        ) from None
    if dialect.is_async:
        raise ValueError(
            f"ESL_DATABASE_URL names the asyncio driver {parsed.drivername!r}, which esl "
            f"cannot use: {_INSTALLED_DRIVER}"
        )
    if parsed.get_backend_name() == "sqlite" and _in_memory(parsed.database, parsed.query):
        # Each connection would get a database of its own, empty: `esl db upgrade`
        # migrated one that was gone when it ended, and every other command then said
        # the schema was missing.
        raise ValueError(
            "ESL_DATABASE_URL names an in-memory SQLite database, which is empty for every "
            "command and gone when it ends: name a file (sqlite:////var/lib/esl/esl.sqlite), "
            "or leave it unset for a SQLite file in ESL_DATA_DIR"
        )


_INSTALLED_DRIVER = (
    "write it as postgresql+psycopg://USER:PASSWORD@HOST:5432/NAME (psycopg, the "
    "PostgreSQL driver installed), or leave it unset for a SQLite file in ESL_DATA_DIR"
)


def _not_a_database_url(reason: str) -> str:
    return (
        f"ESL_DATABASE_URL is not a database URL ({reason}): write it as "
        "postgresql+psycopg://USER:PASSWORD@HOST:5432/NAME, or leave it unset for a SQLite "
        "file in ESL_DATA_DIR"
    )


def _in_memory(database: str | None, query: Mapping[str, object]) -> bool:
    """SQLite's in-memory forms: no file name, `:memory:`, and the URI ones
    (`file::memory:`, `?mode=memory`)."""
    return (
        database in (None, "", ":memory:")
        or (database or "").startswith("file::memory:")
        or query.get("mode") == "memory"
    )


# The `ESL_` variables of command-line options (typer's `envvar=`), not settings: read
# from the process environment only, so one in ESL_ENV_FILE is warned of, not refused
# (tests/esl/test_env_file_names.py checks this list against the options).
COMMAND_VARIABLES = frozenset(
    {
        "ESL_DEBUG",
        "ESL_LOG_LEVEL",
        "ESL_LOG_FORMAT",
        "ESL_GATEWAY_BROKER",
        "ESL_GATEWAY_API",
        "ESL_GATEWAY_API_KEY",
        "ESL_SIM_KEY_SECRET",
        "ESL_SIM_MQTT_PASSWORD",
    }
)


def load_settings() -> Settings:
    """Build the settings once, at start-up, from the environment (and `ESL_ENV_FILE`)."""
    env_file = os.environ.get("ESL_ENV_FILE")
    if env_file:
        _check_readable(env_file)
        _check_names(env_file)
        return Settings(_env_file=env_file)
    return Settings()


def _check_names(env_file: str) -> None:
    """UnknownSettingError for the first `ESL_` name in the file that is no setting: a
    misspelt `ESL_CURENCY=EUR` was skipped, and every command ran in PLN. Only the file is
    held to it: the process environment is shared with other programs and versions, whose
    `ESL_` variables are not this one's to refuse. Names without the prefix are left
    alone (a file shared with a database container's settings)."""
    from dotenv import dotenv_values  # pydantic-settings reads the file with it too

    known = {f"ESL_{field.upper()}" for field in Settings.model_fields}
    for name in dotenv_values(env_file):
        spelt = name.upper()  # read case-insensitively, as the settings are
        if spelt in COMMAND_VARIABLES:
            # esl's own, but an option's: read from the process environment only.
            log.warning(
                "ESL_ENV_FILE %s sets %s, which is read from the process environment only "
                "(or its command-line option): it has no effect from the file",
                env_file,
                name,
            )
        elif spelt.startswith("ESL_") and spelt not in known:
            nearest = difflib.get_close_matches(spelt, sorted(known), n=1, cutoff=0.8)
            raise UnknownSettingError(env_file, name, nearest[0] if nearest else None)


def _check_readable(env_file: str) -> None:
    # pydantic-settings skips a dotenv file that is not there: a typo in the path, or a
    # volume not mounted yet, would run the command on the defaults (a new, empty
    # database in ./esl-data).
    try:
        with open(env_file, "rb") as file:
            data = file.read()
    except OSError as error:
        raise SettingsFileError(env_file, error.strerror or type(error).__name__) from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        # A file saved in the Windows code page (a comment naming "Kraków"), read as
        # UTF-8 as the settings are: where its first other byte is.
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start : error.start + 1].hex().upper()
        raise SettingsFileError(
            env_file, f"not UTF-8 text: byte 0x{byte} on line {line}; save it as UTF-8"
        ) from None
