"""`esl gateway oepl`: the store gateway process for OpenEPaperLink access points, and its
provisioning (`import-tags`) and an emulated AP to try it with (`emulate-ap`).

    esl gateway oepl --store S001 --gateway S001-ap1 --ap http://192.168.1.50 \\
        --broker mqtts://S001.S001-ap1@broker.example:8883 --provisioning S001-ap1-labels.json
    esl gateway oepl import-tags --store S001 --gateway S001-ap1 --ap http://192.168.1.50 \\
        --api https://esl.example   # key in ESL_GATEWAY_API_KEY; no --api: the database

Deployment (systemd unit, credentials, what runs where): docs/gateways.md.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli import gateway_ble_cmd
from esl.cli.controller_api import post_to_controller
from esl.cli.gateway_process import (
    DEFAULT_STATE_DIR,
    StateDirOption,
    broker_option,
    gateway_option,
    refuse_missing,
    require_topic_ids,
    run_until_stopped,
    store_option,
)
from esl.cli.invocation import sessions_of
from esl.cli.stop_signals import stop_on_signals
from esl.text_files import read_provisioning_file

if TYPE_CHECKING:
    from esl.pipeline.oepl_tags import AccessPointTag, TagImport, TagRegistration
    from gateways.store_gateway.local_state import LabelRecord

__all__ = ["register"]

# Options more than one `esl gateway oepl` command takes.
_access_point = typer.Option(help="The access point, e.g. http://192.168.1.50.")
AccessPointOption = Annotated[str, _access_point]
ProvisioningOption = Annotated[
    Path | None,
    typer.Option(help="The label keys file (default STATE_DIR/GATEWAY-labels.json, mode 0600)."),
]


def _register_over_api(
    api: str, api_key: str, *, store: str, gateway: str, tags: list[AccessPointTag]
) -> TagRegistration:
    """`POST /api/v1/stores/{store}/oepl/tags`; the number of new labels and the tags
    skipped as registered on another gateway. A refusal exits with the API's reason (and
    each refused tag's)."""
    from esl.pipeline.label_models import ModelChange
    from esl.pipeline.oepl_tags import TagRegistration

    body = {
        "gateway": gateway,
        "tags": [
            {"mac": t.mac, "hw_type": t.hw_type, "model": t.model_id, "key": t.key.hex()}
            for t in tags
        ],
    }
    status, answer = post_to_controller(
        api, f"/stores/{store}/oepl/tags", body, api_key=api_key, option="--api"
    )
    if status != 200:
        for problem in answer.get("problems", []):
            typer.echo(f"refused {problem.get('mac')}: {problem.get('reason')}", err=True)
        typer.echo(
            f"the API refused the tags (HTTP {status}): "
            f"{answer.get('message')}; nothing was registered",
            err=True,
        )
        raise typer.Exit(1)
    return TagRegistration(
        added=int(answer["added"]),
        skipped=[(str(tag["mac"]), str(tag["reason"])) for tag in answer.get("skipped", [])],
        remodelled=[
            ModelChange(str(change["label_id"]), str(change["old_model"]), str(change["new_model"]))
            for change in answer.get("remodelled", [])
        ],
    )


def _provisioning_path(state_dir: Path, gateway: str, given: Path | None) -> Path:
    return given or state_dir / f"{gateway}-labels.json"


async def _run_gateway(
    *,
    store: str,
    gateway: str,
    ap: str,
    broker: str,
    labels: list[LabelRecord],
    state_dir: Path,
    poll_s: float,
    health_every_s: float,
) -> None:
    from gateways.mqtt.endpoint import parse_broker_url
    from gateways.oepl import AccessPointClient, AccessPointDriver, DriverTimings
    from gateways.oepl.radio import OeplRadio
    from gateways.store_gateway.process import open_store_gateway

    endpoint = parse_broker_url(broker)
    radio = OeplRadio(
        AccessPointDriver(AccessPointClient(ap), timings=DriverTimings(poll_s=poll_s))
    )
    async with open_store_gateway(
        labels,
        radio,
        store=store,
        gateway=gateway,
        endpoint=endpoint,
        state_dir=state_dir,
        health_every_s=health_every_s,
    ) as opened:
        await run_until_stopped(opened, kind="labels", via=f"AP {ap}")


def register(app: typer.Typer) -> None:
    gateway_app = typer.Typer(
        no_args_is_help=True, help="Store gateway processes (run in the store, next to radios)."
    )
    app.add_typer(gateway_app, name="gateway")
    oepl_app = typer.Typer(
        invoke_without_command=True,
        help="OpenEPaperLink access points: run the gateway, import tags, emulate an AP.",
    )
    gateway_app.add_typer(oepl_app, name="oepl")
    gateway_ble_cmd.register(gateway_app)

    @oepl_app.callback()
    def oepl(
        ctx: typer.Context,
        store: Annotated[str | None, store_option] = None,
        gateway: Annotated[str | None, gateway_option] = None,
        ap: Annotated[str | None, _access_point] = None,
        broker: Annotated[
            str | None,
            broker_option("mqtt://USER:PASS@host:1883 or mqtts://...?ca=... (password: env var)."),
        ] = None,
        provisioning: ProvisioningOption = None,
        state_dir: StateDirOption = DEFAULT_STATE_DIR,
        poll_s: Annotated[
            float, typer.Option(min=0.01, help="Seconds between AP polls while waiting.")
        ] = 2.0,
        health_every_s: Annotated[
            float, typer.Option(min=0.1, help="Seconds between check-in reports.")
        ] = 30.0,
    ) -> None:
        """Run the store gateway for one OpenEPaperLink AP until SIGTERM or Ctrl-C."""
        if ctx.invoked_subcommand is not None:
            return
        from esl.pipeline.oepl_tags import PROVISIONING_HINT
        from gateways.store_gateway.process import parse_gateway_provisioning

        if not (store and gateway and ap and broker):
            refuse_missing({"--store": store, "--gateway": gateway, "--ap": ap, "--broker": broker})
        require_topic_ids(store=store, gateway=gateway)
        # Read before any state is written: a file it cannot use stops it with nothing left.
        labels = read_provisioning_file(
            _provisioning_path(state_dir, gateway, provisioning),
            parse_gateway_provisioning,
            hint=PROVISIONING_HINT,
        )
        asyncio.run(
            _run_gateway(
                store=store,
                gateway=gateway,
                ap=ap,
                broker=broker,
                labels=labels,
                state_dir=state_dir,
                poll_s=poll_s,
                health_every_s=health_every_s,
            )
        )

    @oepl_app.command("import-tags")
    def import_tags(
        ctx: typer.Context,
        store: Annotated[str, typer.Option(help="Store id the tags are in.")],
        gateway: Annotated[str, typer.Option(help="The gateway that will drive them.")],
        ap: AccessPointOption,
        api: Annotated[
            str | None,
            typer.Option(
                envvar="ESL_GATEWAY_API",
                help="The controller's API, e.g. https://esl.example; without it, the "
                "database of ESL_DATABASE_URL is written directly (single-machine installs).",
            ),
        ] = None,
        api_key: Annotated[
            str | None,
            typer.Option(
                envvar="ESL_GATEWAY_API_KEY",
                help="An admin key or this store's key (esl keys create); env var preferred.",
            ),
        ] = None,
        provisioning: ProvisioningOption = None,
        state_dir: StateDirOption = DEFAULT_STATE_DIR,
    ) -> None:
        """Register the AP's tags as labels with their display models (keys generated)."""
        from esl.pipeline.oepl_tags import (
            drop_skipped_new_tags,
            import_access_point_tags,
            read_access_point_tags,
            read_gateway_file,
            read_gateway_keys,
            restore_gateway_provisioning,
            write_gateway_provisioning,
        )
        from gateways.oepl import AccessPointClient, AccessPointDriver

        if api is not None and not api_key:
            raise typer.BadParameter("--api needs --api-key (or ESL_GATEWAY_API_KEY)")
        # Before the file is written: the controller would refuse the ids only after.
        require_topic_ids(store=store, gateway=gateway)
        target = _provisioning_path(state_dir, gateway, provisioning)

        async def run() -> TagImport:
            driver = AccessPointDriver(AccessPointClient(ap))
            try:
                if api is None:
                    sessions = sessions_of(ctx)
                    return await import_access_point_tags(
                        sessions,
                        driver,
                        store=store,
                        gateway=gateway,
                        provisioning=target,
                        now=datetime.now(UTC),
                    )
                known = read_gateway_keys(target)
                tags, imported = await read_access_point_tags(driver, known)
            finally:
                await driver.close()
            # The keys are safe in the store before the controller accepts them; if it
            # refuses them (its answer: nothing registered), the file is put back.
            before = read_gateway_file(target)
            write_gateway_provisioning(target, imported.labels, store=store, gateway=gateway)
            if tags:
                assert api_key is not None
                try:
                    registration = _register_over_api(
                        api, api_key, store=store, gateway=gateway, tags=tags
                    )
                except typer.Exit:
                    restore_gateway_provisioning(target, before)
                    raise
                if drop_skipped_new_tags(imported, registration, known):
                    write_gateway_provisioning(
                        target, imported.labels, store=store, gateway=gateway
                    )
            return imported

        imported = asyncio.run(run())
        for mac, reason in imported.skipped:
            typer.echo(f"skipped {mac}: {reason}", err=True)
        for change in imported.remodelled:
            typer.echo(f"{change.label_id} is now a {change.new_model} (was {change.old_model})")
        typer.echo(
            f"{len(imported.labels)} labels for {store}/{gateway} ({imported.added} new); "
            f"keys in {target}"
        )

    @oepl_app.command("tag-command")
    def tag_command(
        mac: Annotated[str, typer.Argument(help="The tag's MAC, e.g. 0000021EDBA7B394.")],
        command: Annotated[
            str,
            typer.Argument(
                help="What /tag_cmd takes: refresh, reboot, scan, reset, deepsleep, clear, "
                "purge, del, ledflash, ledflash_long, ledflash_stop."
            ),
        ],
        ap: AccessPointOption,
    ) -> None:
        """Send one of the AP's tag commands from the store LAN (reboot, scan, ...): they
        administer the AP's radio, so the controller's label actions do not send them."""
        from gateways.errors import GatewayError
        from gateways.oepl import AccessPointClient, AccessPointDriver, TagCommand

        if command not in {c.value for c in TagCommand}:
            known = ", ".join(c.value for c in TagCommand)
            raise typer.BadParameter(f"{command!r} is not a tag command ({known})")

        async def run() -> None:
            driver = AccessPointDriver(AccessPointClient(ap))
            try:
                await driver.command(mac, TagCommand(command))
            finally:
                await driver.close()

        try:
            asyncio.run(run())
        except GatewayError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{command} sent to {mac.upper()}; the tag takes it at its next check-in")

    @oepl_app.command("emulate-ap")
    def emulate_ap(
        tags: Annotated[int, typer.Option(min=1, max=500, help='Emulated 2.9" BWR tags.')] = 10,
        port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0: any free one).")] = 0,
        check_in_s: Annotated[
            float, typer.Option(min=0.01, help="Seconds between a tag's check-ins (real: 40).")
        ] = 40.0,
        bytes_per_s: Annotated[
            float, typer.Option(min=100.0, help="Radio speed (a real AP: about 5000).")
        ] = 5000.0,
    ) -> None:
        """Serve an emulated OpenEPaperLink AP with tags, to try the gateway without one."""
        import time

        from firmware_sim.oepl_ap.access_point import (
            AccessPointConfig,
            EmulatedAccessPoint,
            EmulatedTag,
        )
        from firmware_sim.oepl_ap.http_app import ServedAccessPoint

        ap = EmulatedAccessPoint(
            AccessPointConfig(check_in_interval_s=check_in_s, radio_bytes_per_s=bytes_per_s)
        )
        for number in range(1, tags + 1):
            ap.add_tag(EmulatedTag(mac=f"00000258{number:08X}", hw_type=0xB3), now=time.time())

        async def serve() -> None:
            stop = stop_on_signals()
            async with ServedAccessPoint(ap, port=port) as served:
                typer.echo(f"emulated AP at {served.url} with {tags} tags", err=True)
                await stop.wait()

        asyncio.run(serve())
