"""`esl sim ...`: run simulated store gateways and look at what simulated labels show."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli.gateway_process import require_topic_ids

# The simulator is imported by the commands that run it: `esl` starts every command, and
# the simulator's modules would cost each of them.
if TYPE_CHECKING:
    from firmware_sim.mqtt_gateway import MqttStoreGateway

__all__ = ["register"]

SIM_PROVISIONING_HINT = (
    "give a provisioning file as docs/protocol.md describes it (the controller's, or one "
    "a simulated gateway wrote into its --state-dir), or none for new labels"
)


def register(app: typer.Typer) -> None:
    sim_app = typer.Typer(no_args_is_help=True, help="Simulated store gateways and labels.")
    app.add_typer(sim_app, name="sim")

    @sim_app.command("gateway")
    def gateway(
        store: Annotated[str, typer.Option(help="Store code, e.g. S001.")],
        broker: Annotated[str, typer.Option(help="mqtt://user:pass@host:1883 or mqtts://...")],
        gateway_id: Annotated[
            str | None,
            typer.Option(
                "--gateway", help="Gateway id, unique across stores (default: {store}-gw1)."
            ),
        ] = None,
        labels: Annotated[int, typer.Option(help="Labels to create on first start.")] = 500,
        model: Annotated[str, typer.Option(help="Display model of created labels.")] = "2.9-bwr",
        state_dir: Annotated[
            Path, typer.Option(help="Label state and provisioning file live here.")
        ] = Path("esl-data/sim"),
        provisioning: Annotated[
            Path | None, typer.Option(help="Use the controller's provisioning file (JSON).")
        ] = None,
        key_secret: Annotated[
            str | None,
            typer.Option(
                envvar="ESL_SIM_KEY_SECRET",
                help="Hex site secret: derive label keys instead of random ones.",
            ),
        ] = None,
        username: Annotated[str | None, typer.Option(help="Broker username.")] = None,
        password: Annotated[
            str | None, typer.Option(envvar="ESL_SIM_MQTT_PASSWORD", help="Broker password.")
        ] = None,
        ca_file: Annotated[Path | None, typer.Option(help="CA certificate: enables TLS.")] = None,
        cert_file: Annotated[Path | None, typer.Option(help="Client certificate (TLS).")] = None,
        key_file: Annotated[Path | None, typer.Option(help="Client private key (TLS).")] = None,
        check_in_interval: Annotated[float, typer.Option(help="Seconds between check-ins.")] = 40.0,
        max_attempts: Annotated[
            int, typer.Option(help="Deliveries of a frame before the gateway drops it.")
        ] = 5,
        report_check_ins: Annotated[
            bool, typer.Option(help="Publish every check-in as a signed status message.")
        ] = False,
        listening: Annotated[
            bool,
            typer.Option(
                help="Labels listen between check-ins: a frame is delivered as it arrives."
            ),
        ] = False,
        seed: Annotated[int, typer.Option(help="Seed for every random fault.")] = 0,
        loss_rate: Annotated[float, typer.Option(help="Radio frame loss, 0..1.")] = 0.0,
        duplicate_rate: Annotated[float, typer.Option(help="Duplicate deliveries, 0..1.")] = 0.0,
        latency_ms: Annotated[int, typer.Option(help="Radio latency per hop.")] = 0,
        jitter_ms: Annotated[int, typer.Option(help="Extra random latency, up to this.")] = 0,
        offline_rate: Annotated[float, typer.Option(help="Labels out of range, 0..1.")] = 0.0,
        offline_after: Annotated[float, typer.Option(help="Seconds until they go.")] = 0.0,
        offline_for: Annotated[float, typer.Option(help="Seconds they stay away.")] = 0.0,
        flat_battery_rate: Annotated[float, typer.Option(help="Labels with flat cells.")] = 0.0,
        restart_after: Annotated[
            float | None, typer.Option(help="Restart the gateway once after this many seconds.")
        ] = None,
        duration: Annotated[
            float | None, typer.Option(help="Stop after this many seconds (default: Ctrl-C).")
        ] = None,
        connect_timeout: Annotated[
            float, typer.Option(min=0.1, help="Give up when the broker has not let us in by then.")
        ] = 10.0,
    ) -> None:
        """Run a simulated store gateway with its labels on an MQTT broker."""
        from esl.text_files import read_provisioning_file
        from firmware_sim.faults import FaultPlan, RadioConditions
        from firmware_sim.mqtt_gateway import MqttStoreGateway, parse_broker_url
        from firmware_sim.simulation import SiteConfig, open_simulated_gateway
        from gateways.protocol import parse_provisioning

        try:
            settings = parse_broker_url(
                broker,
                username=username,
                password=password,
                ca_file=ca_file,
                cert_file=cert_file,
                key_file=key_file,
            )
            faults = FaultPlan(
                seed=seed,
                radio=RadioConditions(
                    loss_rate=loss_rate,
                    duplicate_rate=duplicate_rate,
                    latency_ms=latency_ms,
                    jitter_ms=jitter_ms,
                ),
                offline_rate=offline_rate,
                offline_after_s=offline_after,
                offline_for_s=offline_for,
                flat_battery_rate=flat_battery_rate,
                restart_after_s=restart_after,
            )
            config = SiteConfig(
                store=store,
                gateway=gateway_id or f"{store}-gw1",
                state_dir=state_dir,
                label_count=labels,
                model_id=model,
                key_secret=None if key_secret is None else bytes.fromhex(key_secret),
                provisioning_file=provisioning,
                faults=faults,
                check_in_interval_s=check_in_interval,
                max_attempts=max_attempts,
                report_check_ins=report_check_ins,
                listening=listening,
            )
        except ValueError as error:
            raise typer.BadParameter(str(error)) from error
        require_topic_ids(store=config.store, gateway=config.gateway)
        if provisioning is not None:
            # Checked before any state is written; open_simulated_gateway reads it again.
            read_provisioning_file(provisioning, parse_provisioning, hint=SIM_PROVISIONING_HINT)
        site = open_simulated_gateway(config, now=datetime.now(UTC))
        typer.echo(
            f"{len(site.gateway.labels)} labels; provisioning file: {config.manifest_path}",
            err=True,
        )
        runner = MqttStoreGateway(site, settings)
        try:
            asyncio.run(_run(runner, duration, connect_timeout))
        finally:
            site.close()
        stats = site.gateway.stats
        typer.echo(json.dumps({"published": runner.published, **asdict(stats)}))

    @sim_app.command("display")
    def display(
        label: Annotated[str, typer.Argument(help="Label id.")],
        state_dir: Annotated[
            Path,
            typer.Option(help="The gateways' state directory (the demo's: demo-output/sim)."),
        ] = Path("esl-data/sim"),
        store: Annotated[
            str | None, typer.Option(help="Store code (default: look in every gateway).")
        ] = None,
        gateway_id: Annotated[
            str | None, typer.Option("--gateway", help="Gateway id (default: any).")
        ] = None,
        output: Annotated[Path, typer.Option("-o", "--output")] = Path("display.png"),
    ) -> None:
        """Write display.png: exactly the pixels a simulated label shows."""
        from firmware_sim.fleet import site_prefix
        from firmware_sim.images import ImageStore
        from firmware_sim.label_store import LabelStateStore, holds_label_state

        if store and gateway_id:
            pattern = f"{site_prefix(store, gateway_id)}.sqlite"
        elif gateway_id:
            pattern = f"*{gateway_id}.sqlite"
        else:
            pattern = f"{store or '*'}-*.sqlite"
        # Only simulated gateways' state: an OEPL store gateway keeps its own beside it.
        paths = [path for path in sorted(state_dir.glob(pattern)) if holds_label_state(path)]
        if not paths:
            _refuse_a_tag_behind_a_store_gateway(state_dir, label)
            typer.echo(f"error: no simulator state matching {state_dir / pattern}", err=True)
            typer.echo(
                "  pass --state-dir (the demo keeps its labels in demo-output/sim)", err=True
            )
            raise typer.Exit(1)
        now = datetime.now(UTC)
        for path in paths:
            with LabelStateStore(path) as storage:
                labels = storage.load(images=ImageStore(), now=now)
            found = next((item for item in labels if item.label_id == label), None)
            if found is not None:
                break
        else:
            _refuse_a_tag_behind_a_store_gateway(state_dir, label)
            typer.echo(f"error: no label {label!r} in {', '.join(map(str, paths))}", err=True)
            raise typer.Exit(1)
        output.write_bytes(found.display_png())
        shown = found.shown_hash.hex() if found.shown_hash else "nothing"
        typer.echo(f"{output}: {label} shows {shown}, battery {found.battery_mv} mV")


def _refuse_a_tag_behind_a_store_gateway(state_dir: Path, label: str) -> None:
    """Stop, saying where its picture is, when `label` is a tag an OpenEPaperLink store
    gateway reaches (`esl demo --transport oepl` writes that gateway's provisioning file,
    `<gateway>-labels.json`, beside the simulator's state, with no simulator state of its
    own): the emulated access point draws it, no simulated panel holds its image."""
    from firmware_sim.fleet import site_prefix
    from firmware_sim.label_store import holds_label_state

    for path in sorted(state_dir.glob("*-labels.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            store, gateway = str(document["store"]), str(document["gateway"])
            listed = any(str(entry["label_id"]) == label for entry in document["labels"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a provisioning file
        if not listed or holds_label_state(state_dir / f"{site_prefix(store, gateway)}.sqlite"):
            continue
        preview = state_dir.parent / "labels" / store / f"{label}.png"
        typer.echo(
            f"error: {label} is an OpenEPaperLink tag behind {gateway} ({store}), not a "
            "simulated label: the simulator holds no panel of it",
            err=True,
        )
        typer.echo(f"  what it shows: {preview} (written by the demo)", err=True)
        raise typer.Exit(1)


async def _run(runner: MqttStoreGateway, duration: float | None, connect_timeout: float) -> None:
    from gateways.errors import GatewayConnectError

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, runner.stop)
    running = asyncio.create_task(runner.run())
    try:
        await runner.wait_connected(connect_timeout)
    except TimeoutError:
        runner.stop()
        await running
        broker = runner.broker
        reason = (
            f"refused: {runner.refusal}"
            if runner.refusal
            else f"no answer within {connect_timeout:g} s"
        )
        if runner.refusal and broker.username is None:
            reason += " (no user name given: add --username or mqtt://USER@HOST:PORT)"
        raise GatewayConnectError(host=broker.host, port=broker.port, reason=reason) from None
    broker = runner.broker
    user = f"{broker.username}@" if broker.username else ""
    typer.echo(f"connected to mqtt://{user}{broker.host}:{broker.port}", err=True)
    if duration is not None:
        loop.call_later(duration, runner.stop)
    await running
