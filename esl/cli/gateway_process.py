"""What `esl gateway oepl` and `esl gateway ble` share around their store gateway process:
the options they both require, and the start-up line that says what the durable queue
kept from the last run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from esl.cli.stop_signals import stop_on_signals
from gateways.mqtt.topics import validate_topic_part

if TYPE_CHECKING:
    from gateways.store_gateway.process import OpenedStoreGateway

__all__ = [
    "DEFAULT_STATE_DIR",
    "GatewayOption",
    "StateDirOption",
    "StoreOption",
    "broker_option",
    "gateway_option",
    "refuse_missing",
    "require_topic_ids",
    "run_until_stopped",
    "store_option",
]

# The store gateway a command runs as or speaks for, and where its state lives. The run is a
# group callback, so there they are optional (`Annotated[str | None, store_option]`).
store_option = typer.Option(help="Store id, e.g. S001.")
gateway_option = typer.Option(help="The store gateway's id (its MQTT login is STORE.GATEWAY).")
StoreOption = Annotated[str, store_option]
GatewayOption = Annotated[str, gateway_option]
StateDirOption = Annotated[
    Path,
    typer.Option(help="The gateway's state: its durable queue (and its labels file by default)."),
]
DEFAULT_STATE_DIR = Path("esl-gateway")


def broker_option(help_text: str) -> Any:
    """--broker of a gateway run, also read from ESL_GATEWAY_BROKER (where the systemd
    units of docs/gateways.md put it). `help_text` says what the URL holds, which differs:
    an OEPL gateway's login is in it, a BLE gateway's may come from --credential."""
    return typer.Option(envvar="ESL_GATEWAY_BROKER", help=help_text)


def refuse_missing(given: dict[str, str | None]) -> NoReturn:
    """Refuse a run that lacks some option of `given` (flag -> value), naming every missing
    one: they are optional to Typer only so that the subcommands need not repeat them."""
    missing = [flag for flag, value in given.items() if not value]
    raise typer.BadParameter(f"missing {', '.join(missing)}")


def require_topic_ids(*, store: str, gateway: str) -> None:
    """Refuse, before any state is written, a store or gateway id no MQTT topic level can
    carry (`InvalidTopicPartError`, as `esl mqtt config` and the controller refuse it):
    with '+' or '#' the subscription fails, with '/' the gateway listens on topics
    (esl/v1/S/1/...) no controller publishes to."""
    validate_topic_part(store, kind="store")
    validate_topic_part(gateway, kind="gateway")


async def run_until_stopped(opened: OpenedStoreGateway, *, kind: str, via: str) -> None:
    """Say what the gateway starts with, then run it until SIGTERM or Ctrl-C. `kind` is
    what its labels are ("BLE labels": "12 BLE labels (2 new)"), `via` the radio it
    drives."""
    stop = stop_on_signals()
    process = opened.process
    waiting, unsent = process.state.counts()
    typer.echo(
        f"{process.store}/{process.gateway}: {len(process.state.labels())} {kind} "
        f"({opened.added} new), {waiting} frames and {unsent} answers kept from the last "
        f"run; {via}",
        err=True,
    )
    await process.run(stop)
