"""`esl gateway ble`: the store gateway process for Bluetooth ESL labels, the labels file
it reads (`export-labels`), and simulated labels to try it with (`emulate-labels`).

    esl gateway ble --store S001 --gateway S001-ble1 --broker mqtts://broker.example:8883 \\
        --credential /etc/esl-gateway/S001-ble1.password --state-dir /var/lib/esl-gateway
    esl gateway ble ... --backend bumble --hci usb:0        # an HCI dongle, no BlueZ
    esl gateway ble export-labels --store S001 --gateway S001-ble1 --out S001-ble1-ble.json
    esl gateway ble emulate-labels --store S001 --gateway S001-ble1 --labels 10 --out-dir d
    esl gateway ble associate --store S001 --gateway S001-ble1 --kit kit.json \\
        --controller https://esl.example --api-key-file key --address L1=C0:FF:EE:00:00:01
        [--backend bumble --hci usb:0 --pairing-code L2=eslpair:081b...]   # out of band

Deployment (systemd unit, credentials, what runs where): docs/gateways.md.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Collection
from contextlib import AbstractAsyncContextManager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from esl.cli.gateway_process import (
    DEFAULT_STATE_DIR,
    GatewayOption,
    StateDirOption,
    StoreOption,
    broker_option,
    gateway_option,
    refuse_missing,
    require_topic_ids,
    run_until_stopped,
    store_option,
)
from esl.cli.invocation import settings_of
from esl.cli.stop_signals import stop_on_signals

# Association and the BLE stack are imported by the commands that use them: `esl` starts
# every command, and bleak, the pipeline and Pillow would cost each of them.
if TYPE_CHECKING:
    from esl.cli.ble_association import AssociationKit, Outcome
    from gateways.ble.pairing_code import PairingCode

__all__ = ["register"]


class Backend(StrEnum):
    BLEAK = "bleak"  # this machine's adapter through the platform stack (BlueZ)
    BUMBLE = "bumble"  # bumble's host stack on an HCI controller (--hci)


# Options more than one `esl gateway ble` command takes (--store, --gateway and --state-dir
# are those of every store gateway run: esl.cli.gateway_process).
BackendOption = Annotated[
    Backend, typer.Option(help="bleak: this machine's adapter; bumble: --hci.")
]
HciOption = Annotated[
    str | None,
    typer.Option(help="bumble HCI transport: usb:0, serial:/dev/ttyACM0, tcp-client:H:P"),
]


def _check_backend(backend: Backend, hci: str | None) -> None:
    if (backend is Backend.BUMBLE) != (hci is not None):
        raise typer.BadParameter("--hci goes with --backend bumble, and only with it")


def _labels_path(state_dir: Path, gateway: str, given: Path | None) -> Path:
    return given or state_dir / f"{gateway}-ble.json"


def gateway_password(path: Path, *, username: str) -> str:
    """This gateway's broker password from `path`: a file holding the password alone, or
    the `credentials.json` of `esl mqtt config` (the entry for `username`). A file others
    can read is refused: the password is the gateway's identity at the broker."""
    from esl.cli.ble_association import private_file_text

    text = private_file_text(path).strip()
    if not text.startswith("{"):
        if not text:
            raise typer.BadParameter(f"{path} is empty")
        return text
    try:
        entries = json.loads(text)["gateways"]
        found = [str(e["password"]) for e in entries if e["username"] == username]
    except (ValueError, KeyError, TypeError):
        raise typer.BadParameter(f"{path} is not a credentials file") from None
    if not found:
        raise typer.BadParameter(f"{path} has no login {username}")
    return found[0]


async def _run_gateway(
    *,
    store: str,
    gateway: str,
    broker: str,
    credential: Path | None,
    labels_path: Path,
    state_dir: Path,
    backend: Backend,
    hci: str | None,
    max_connections: int,
    health_every_s: float,
    connect_timeout_s: float,
) -> None:
    from esl.mqtt.mosquitto_config import gateway_username
    from gateways.ble.driver import platform_client
    from gateways.ble.link import ClientFactory
    from gateways.ble.store_gateway import open_ble_store_gateway
    from gateways.mqtt.endpoint import parse_broker_url

    endpoint = parse_broker_url(broker)
    if credential is not None:
        username = endpoint.username or gateway_username(store=store, gateway=gateway)
        endpoint = endpoint.with_credentials(
            username, gateway_password(credential, username=username)
        )
    link: AbstractAsyncContextManager[ClientFactory]
    if backend is Backend.BUMBLE:
        from gateways.ble.bumble_client import bumble_link

        assert hci is not None
        link = bumble_link(hci, timeout_s=connect_timeout_s)
    else:
        link = nullcontext(functools.partial(platform_client, timeout_s=connect_timeout_s))
    async with open_ble_store_gateway(
        labels_path,
        store=store,
        gateway=gateway,
        endpoint=endpoint,
        state_dir=state_dir,
        link=link,
        max_connections=max_connections,
        health_every_s=health_every_s,
    ) as opened:
        await run_until_stopped(
            opened,
            kind="BLE labels",
            via=f"backend {backend.value}" + (f" on {hci}" if hci else ""),
        )


async def _associate(
    kit: AssociationKit,
    *,
    addresses: dict[str, str],
    codes: Collection[PairingCode],
    backend: Backend,
    hci: str | None,
    scan_s: float,
    connect_timeout_s: float,
) -> list[Outcome]:
    from datetime import UTC, datetime

    from esl.cli.ble_association import associate_kit
    from gateways.ble.association import discover_labels
    from gateways.ble.driver import platform_client
    from gateways.ble.inventory import Discover
    from gateways.ble.link import ClientFactory

    def clock() -> datetime:
        return datetime.now(UTC)

    if backend is Backend.BLEAK:
        discover: Discover = discover_labels
        factory: ClientFactory = functools.partial(platform_client, timeout_s=connect_timeout_s)
        return await associate_kit(
            kit,
            addresses=addresses,
            discover=discover,
            client_factory=factory,
            clock=clock,
            scan_s=scan_s,
        )
    from gateways.ble.bumble_client import bumble_client_factory, open_bumble_central

    assert hci is not None
    central = await open_bumble_central(hci)
    for code in codes:
        central.add_pairing_code(code)
    try:
        return await associate_kit(
            kit,
            addresses=addresses,
            discover=central.discover,
            client_factory=bumble_client_factory(central, timeout_s=connect_timeout_s),
            clock=clock,
            scan_s=scan_s,
        )
    finally:
        await central.close()


def _address_pairs(given: list[str]) -> dict[str, str]:
    pairs = {}
    for pair in given:
        label_id, sep, address = pair.partition("=")
        if not (sep and label_id and address):
            raise typer.BadParameter(f"--address {pair!r} is not LABEL=ADDRESS")
        pairs[label_id] = address
    return pairs


def _pairing_codes(given: list[str], backend: Backend) -> dict[str, PairingCode]:
    if given and backend is not Backend.BUMBLE:
        raise typer.BadParameter(
            "--pairing-code needs --backend bumble: bleak cannot hand a label's out-of-band "
            "data to the platform's Bluetooth stack"
        )
    from gateways.ble.errors import PairingCodeError
    from gateways.ble.pairing_code import PairingCode

    codes = {}
    for pair in given:
        label_id, sep, text = pair.partition("=")
        if not (sep and label_id and text):
            raise typer.BadParameter(f"--pairing-code {pair!r} is not LABEL=CODE")
        try:
            codes[label_id] = PairingCode.parse(text)
        except PairingCodeError as error:
            raise typer.BadParameter(f"--pairing-code for {label_id}: {error.message}") from None
    return codes


def _with_registered_codes(
    kit: AssociationKit, given: dict[str, PairingCode], backend: Backend
) -> dict[str, PairingCode]:
    """The codes the controller registered with the kit's labels, and those given. A label
    registered with a code is never paired Just Works: that would give up what the code
    protects, so the platform backend is refused for it."""
    registered = {x.label_id: x.pairing_code for x in kit.labels if x.pairing_code is not None}
    for label_id, code in given.items():
        if registered.get(label_id, code) != code:
            raise typer.BadParameter(
                f"--pairing-code for {label_id} is not the code registered with it"
            )
    if registered and backend is not Backend.BUMBLE:
        raise typer.BadParameter(
            f"{', '.join(sorted(registered))}: registered with a pairing code, so paired out "
            "of band only, which needs --backend bumble (bleak cannot hand out-of-band data "
            "to the platform's Bluetooth stack)"
        )
    return {**registered, **given}


def register(gateway_app: typer.Typer) -> None:
    ble_app = typer.Typer(
        invoke_without_command=True,
        help="Bluetooth ESL labels: run the gateway, export its labels file.",
    )
    gateway_app.add_typer(ble_app, name="ble")

    @ble_app.callback()
    def ble(
        ctx: typer.Context,
        store: Annotated[str | None, store_option] = None,
        gateway: Annotated[str | None, gateway_option] = None,
        broker: Annotated[
            str | None,
            broker_option("mqtt://host:1883 or mqtts://...?ca=... (login in it or --credential)."),
        ] = None,
        credential: Annotated[
            Path | None,
            typer.Option(
                help="File with this gateway's broker password, or esl mqtt config's "
                "credentials.json (mode 0600; login STORE.GATEWAY unless the URL names one)."
            ),
        ] = None,
        labels: Annotated[
            Path | None,
            typer.Option(help="Labels file (default STATE_DIR/GATEWAY-ble.json; no keys in it)."),
        ] = None,
        state_dir: StateDirOption = DEFAULT_STATE_DIR,
        backend: BackendOption = Backend.BLEAK,
        hci: HciOption = None,
        max_connections: Annotated[
            int, typer.Option(min=1, max=16, help="Labels connected at once on the adapter.")
        ] = 3,
        health_every: Annotated[
            float,
            typer.Option(
                min=0.5,
                help="Seconds between tries to reach the labels it could not reach (only "
                "those: each try is a connection, paid from the label's battery).",
            ),
        ] = 60.0,
        connect_timeout: Annotated[
            float,
            typer.Option(
                min=0.5,
                help="Seconds one connection attempt may take before the label counts as "
                "out of range for that attempt (4 attempts per frame).",
            ),
        ] = 10.0,
    ) -> None:
        """Run the store gateway for one Bluetooth adapter until SIGTERM or Ctrl-C."""
        if ctx.invoked_subcommand is not None:
            return
        if not (store and gateway and broker):
            refuse_missing({"--store": store, "--gateway": gateway, "--broker": broker})
        _check_backend(backend, hci)
        require_topic_ids(store=store, gateway=gateway)
        asyncio.run(
            _run_gateway(
                store=store,
                gateway=gateway,
                broker=broker,
                credential=credential,
                labels_path=_labels_path(state_dir, gateway, labels),
                state_dir=state_dir,
                backend=backend,
                hci=hci,
                max_connections=max_connections,
                health_every_s=health_every,
                connect_timeout_s=connect_timeout,
            )
        )

    @ble_app.command("export-labels")
    def export_labels(
        ctx: typer.Context,
        store: StoreOption,
        gateway: GatewayOption,
        out: Annotated[Path, typer.Option(help="Write the labels file here.")],
    ) -> None:
        """Write the gateway's labels file from the controller's BLE inventory."""
        from sqlalchemy import select

        from esl.db.ble_models import BleLabelInventoryRow
        from esl.db.engine import session_factory
        from esl.db.models import LabelRow
        from esl.db.readiness import open_ready_engine
        from gateways.ble.store_radio import BleGatewayLabel, ble_gateway_labels_json

        engine = open_ready_engine(settings_of(ctx).resolved_database_url())
        try:
            with session_factory(engine)() as session:
                rows = session.execute(
                    select(LabelRow.id, LabelRow.model, BleLabelInventoryRow)
                    .join(BleLabelInventoryRow, BleLabelInventoryRow.label_id == LabelRow.id)
                    .where(LabelRow.store == store, BleLabelInventoryRow.gateway == gateway)
                    .order_by(LabelRow.id)
                ).all()
                labels = [
                    BleGatewayLabel(label_id=i, model=m, address=r.address, esl_id=r.esl_id)
                    for i, m, r in rows
                ]
        finally:
            engine.dispose()
        out.write_text(ble_gateway_labels_json(labels, store=store, gateway=gateway) + "\n")
        typer.echo(f"{len(labels)} BLE labels of {store}/{gateway} in {out}")

    @ble_app.command("emulate-labels")
    def emulate_labels(
        store: StoreOption,
        gateway: GatewayOption,
        out_dir: Annotated[Path, typer.Option(help="Where to write the two files.")],
        labels: Annotated[
            int, typer.Option(min=1, max=200, help='Simulated 2.9" BWR labels.')
        ] = 10,
        port: Annotated[int, typer.Option(help="HCI port on 127.0.0.1 (0: any free one).")] = 0,
        refresh_s: Annotated[
            float, typer.Option(min=0.0, help="Seconds a panel refresh takes (real: about 15).")
        ] = 15.0,
    ) -> None:
        """Serve simulated, associated Bluetooth ESL labels behind an HCI controller on TCP,
        to try the gateway without hardware (`--backend bumble --hci tcp-client:...`).

        Writes OUT_DIR/GATEWAY-provisioning.json (keys, mode 0600: for `esl import
        provisioning` at the controller) and OUT_DIR/GATEWAY-ble.json (the gateway's labels
        file, no keys). The labels live in this process: stopping it forgets them."""
        import dataclasses
        from datetime import UTC, datetime

        from firmware_sim.ble import ble_store
        from firmware_sim.ble.bumble_air import BumbleAir
        from firmware_sim.fleet import build_labels, make_fleet, write_provisioning
        from firmware_sim.images import ImageStore
        from gateways.ble.store_radio import BleGatewayLabel, ble_gateway_labels_json

        def clock() -> datetime:
            return datetime.now(UTC)

        provisions = make_fleet(store=store, gateway=gateway, count=labels)
        firmware = build_labels(provisions, now=clock(), images=ImageStore())
        for label in firmware:
            # A trial need not wait 15 s per image: the panel refreshes as fast as asked.
            label.hardware = dataclasses.replace(label.hardware, refresh_ms=int(refresh_s * 1000))
        out_dir.mkdir(parents=True, exist_ok=True)
        air, addresses = ble_store(
            firmware, keys={p.label_id: p.key for p in provisions}, clock=clock
        )
        write_provisioning(
            out_dir / f"{gateway}-provisioning.json", provisions, store=store, gateway=gateway
        )
        entries = [
            BleGatewayLabel(
                label_id=a.label_id, model=p.model_id, address=a.address, esl_id=a.esl_id
            )
            for a, p in zip(addresses, provisions, strict=True)
        ]
        (out_dir / f"{gateway}-ble.json").write_text(
            ble_gateway_labels_json(entries, store=store, gateway=gateway) + "\n"
        )

        async def serve() -> None:
            stop = stop_on_signals()
            radio = BumbleAir(air.labels, clock=clock)
            server = await radio.serve_hci(port=port)
            bound = server.sockets[0].getsockname()[1]
            typer.echo(f"{labels} BLE labels on HCI tcp-client:127.0.0.1:{bound}", err=True)
            try:
                await stop.wait()
            finally:
                server.close()

        asyncio.run(serve())

    @ble_app.command("associate")
    def associate(
        store: StoreOption,
        gateway: GatewayOption,
        kit: Annotated[
            Path,
            typer.Option(
                help="The association kit (POST /api/v1/stores/STORE/ble/association-kit, "
                "admin); it holds label keys: mode 0600."
            ),
        ],
        controller: Annotated[
            str, typer.Option(envvar="ESL_GATEWAY_API", help="The controller's API URL.")
        ],
        api_key_file: Annotated[
            Path, typer.Option(help="File with an admin key or this store's key (mode 0600).")
        ],
        address: Annotated[
            list[str] | None,
            typer.Option(help="LABEL=BLE_ADDRESS, for labels the kit has no address of."),
        ] = None,
        pairing_code: Annotated[
            list[str] | None,
            typer.Option(
                help="LABEL=CODE, the code printed on the label (eslpair:...): it gives the "
                "address and pairs out of band, so only that label gets its key "
                "(--backend bumble)."
            ),
        ] = None,
        backend: BackendOption = Backend.BLEAK,
        hci: HciOption = None,
        scan: Annotated[
            float, typer.Option(min=0.5, help="Seconds to scan for labels to associate.")
        ] = 5.0,
        connect_timeout: Annotated[
            float, typer.Option(min=0.5, help="Seconds one connection attempt may take.")
        ] = 10.0,
        remove_kit: Annotated[
            bool, typer.Option(help="Delete the kit once every label in it is recorded.")
        ] = False,
    ) -> None:
        """Associate the kit's labels (ESL address, keys, time) and record them at the
        controller; prints each label's outcome, exits 1 if any is not recorded."""
        from esl.cli.ble_association import post_inventory, private_file_text, read_kit

        _check_backend(backend, hci)
        pairs = _address_pairs(address or [])
        codes = _pairing_codes(pairing_code or [], backend)
        api_key = private_file_text(api_key_file).strip()
        if not api_key:
            raise typer.BadParameter(f"{api_key_file} is empty")
        the_kit = read_kit(kit, store=store, gateway=gateway)
        unknown = sorted((set(pairs) | set(codes)) - {x.label_id for x in the_kit.labels})
        if unknown:
            raise typer.BadParameter(
                f"--address or --pairing-code names labels not in the kit: {unknown}"
            )
        codes = _with_registered_codes(the_kit, codes, backend)
        for label_id, code in codes.items():
            # The address pairing uses is the code's: another would pair Just Works.
            if not code.names(pairs.get(label_id, code.address)):
                raise typer.BadParameter(
                    f"--address {label_id}={pairs[label_id]} is not the address its pairing "
                    f"code names ({code.address})"
                )
            pairs[label_id] = code.address
        outcomes = asyncio.run(
            _associate(
                the_kit,
                addresses=pairs,
                codes=list(codes.values()),
                backend=backend,
                hci=hci,
                scan_s=scan,
                connect_timeout_s=connect_timeout,
            )
        )
        refused: dict[str, str] = {}
        if any(x.record is not None for x in outcomes):
            refused = post_inventory(
                controller, api_key, kit=the_kit, outcomes=outcomes, paired_with_code=codes
            )
        recorded = 0
        for outcome in outcomes:
            where = outcome.address or "-"
            if outcome.record is not None and outcome.label_id not in refused:
                recorded += 1
                esl = outcome.record.esl_address
                how = (
                    "paired with its printed code"
                    if outcome.label_id in codes
                    else "paired Just Works: no protection against a man in the middle"
                )
                typer.echo(
                    f"recorded {outcome.label_id} at {where} as ESL {esl.group}/{esl.esl_id} "
                    f"({how})"
                )
            elif outcome.record is not None:
                typer.echo(
                    f"associated {outcome.label_id} at {where} but the controller refused it: "
                    f"{refused[outcome.label_id]}"
                )
            else:
                typer.echo(f"failed {outcome.label_id} at {where}: {outcome.reason}")
        typer.echo(f"{recorded} of {len(outcomes)} labels associated and recorded")
        if recorded == len(outcomes) and remove_kit:
            kit.unlink()
            typer.echo(f"removed {kit} (it held the labels' keys)")
        else:
            typer.echo(f"{kit} holds the labels' keys: delete it once you are done")
        if recorded != len(outcomes):
            raise typer.Exit(1)
