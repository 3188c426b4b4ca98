"""`esl mqtt ...`: broker files for a deployment (Mosquitto, or a RabbitMQ cluster with its
MQTT plugin), and the embedded broker on its own."""

from __future__ import annotations

import asyncio
import socket
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from esl.mqtt.errors import MosquittoConfigError, RabbitmqConfigError
from esl.mqtt.mosquitto_config import (
    DEFAULT_CONTROLLER_USERNAME,
    BrokerAccounts,
    ListenerTls,
    gateways_from_counts,
    gateways_from_lines,
    write_mosquitto_config,
)
from esl.mqtt.rabbitmq_config import DEFAULT_VHOST, write_rabbitmq_config
from esl.text_files import read_utf8_text
from gateways.errors import GatewayError

__all__ = ["BrokerKind", "register"]


class BrokerKind(StrEnum):
    MOSQUITTO = "mosquitto"
    RABBITMQ = "rabbitmq"


def register(app: typer.Typer) -> None:
    mqtt_app = typer.Typer(no_args_is_help=True, help="MQTT broker set-up.")
    app.add_typer(mqtt_app, name="mqtt")

    @mqtt_app.command("config")
    def config(
        output: Annotated[Path, typer.Option("-o", "--output", help="Directory to write into.")],
        broker_kind: Annotated[
            BrokerKind,
            typer.Option(
                "--broker",
                help="mosquitto (one broker) or rabbitmq (a cluster: docs/clustered-broker.md).",
            ),
        ] = BrokerKind.MOSQUITTO,
        vhost: Annotated[str, typer.Option(help="RabbitMQ: the vhost MQTT clients use.")] = (
            DEFAULT_VHOST
        ),
        stores: Annotated[str, typer.Option(help="Store codes, comma-separated: S001,S002.")] = "",
        gateways_per_store: Annotated[
            int, typer.Option(help="Gateways {store}-gw1..{store}-gwN in each store.")
        ] = 1,
        gateways_file: Annotated[
            Path | None, typer.Option(help="Instead of --stores: one 'store,gateway' per line.")
        ] = None,
        controller_user: Annotated[
            str, typer.Option(help="The controller's login.")
        ] = DEFAULT_CONTROLLER_USERNAME,
        port: Annotated[int, typer.Option(help="Plain MQTT listener port.")] = 1883,
        plain_listener: Annotated[
            bool,
            typer.Option(
                "--plain-listener/--no-plain-listener",
                help="Keep the unencrypted listener (turn it off when TLS is on).",
            ),
        ] = True,
        bind: Annotated[str, typer.Option(help="Address the listeners bind to.")] = "0.0.0.0",
        install_dir: Annotated[
            Path | None,
            typer.Option(help="Where the files will live on the broker host (default: --output)."),
        ] = None,
        tls_port: Annotated[int, typer.Option(help="TLS listener port (with --certfile).")] = 8883,
        certfile: Annotated[
            Path | None, typer.Option(help="Server certificate: adds a TLS listener.")
        ] = None,
        keyfile: Annotated[Path | None, typer.Option(help="Server private key.")] = None,
        cafile: Annotated[
            Path | None, typer.Option(help="CA that signed client certificates.")
        ] = None,
        require_client_cert: Annotated[
            bool, typer.Option(help="Refuse TLS clients without a certificate.")
        ] = False,
    ) -> None:
        """Write the broker's files and credentials.json (0600) for these gateways: Mosquitto's
        mosquitto.conf, passwords and acl, or RabbitMQ's rabbitmq.conf and definitions.json."""
        try:
            if gateways_file is not None:
                gateways = gateways_from_lines(read_utf8_text(gateways_file).splitlines())
            else:
                codes = [code for code in stores.split(",") if code.strip()]
                gateways = gateways_from_counts(codes, per_store=gateways_per_store)
            if broker_kind is BrokerKind.RABBITMQ:
                if certfile is not None or keyfile is not None or not plain_listener:
                    raise RabbitmqConfigError(
                        reason="TLS for RabbitMQ is configured in rabbitmq.conf by hand "
                        "(mqtt.listeners.ssl); --broker rabbitmq writes the plain listener only"
                    )
                _write_rabbitmq(
                    output,
                    gateways,
                    controller_user=controller_user,
                    install_dir=install_dir,
                    port=port,
                    bind=bind,
                    vhost=vhost,
                )
                return
            tls = None
            if certfile is not None or keyfile is not None:
                if certfile is None or keyfile is None:
                    raise MosquittoConfigError(reason="--certfile and --keyfile go together")
                tls = ListenerTls(
                    port=tls_port,
                    certfile=certfile.absolute(),
                    keyfile=keyfile.absolute(),
                    cafile=cafile.absolute() if cafile else None,
                    require_client_certificate=require_client_cert,
                )
            written = write_mosquitto_config(
                output,
                gateways,
                controller_username=controller_user,
                install_dir=install_dir,
                port=port,
                bind_address=bind,
                tls=tls,
                plain_listener=plain_listener,
            )
        except (GatewayError, OSError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"wrote {written.conf}, {written.passwords.name}, {written.acl.name}")
        _report_accounts(written.accounts, written.new_usernames, written.credentials)
        typer.echo(f"run: mosquitto -c {written.conf}")

    @mqtt_app.command("broker")
    def broker(
        port: Annotated[
            int, typer.Option(min=1, max=65535, help="Loopback port to listen on.")
        ] = 1883,
    ) -> None:
        """Run the embedded broker (amqtt) on 127.0.0.1 until interrupted: for trials only."""
        from esl.mqtt.embedded_broker import EmbeddedBroker

        # Bound and released first so a port in use is one line, not amqtt's logged traceback.
        with socket.create_server(("127.0.0.1", port)):
            pass

        async def serve() -> None:
            async with EmbeddedBroker(port=port) as running:
                typer.echo(f"embedded broker at {running.endpoint.url} (Ctrl-C stops it)")
                await asyncio.Event().wait()

        try:
            asyncio.run(serve())
        except KeyboardInterrupt:
            pass
        except GatewayError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None


def _write_rabbitmq(
    output: Path,
    gateways: list[tuple[str, str]],
    *,
    controller_user: str,
    install_dir: Path | None,
    port: int,
    bind: str,
    vhost: str,
) -> None:
    written = write_rabbitmq_config(
        output,
        gateways,
        controller_username=controller_user,
        install_dir=install_dir,
        port=port,
        bind_address=bind,
        vhost=vhost,
    )
    typer.echo(f"wrote {written.conf}, {written.definitions.name}")
    _report_accounts(
        written.accounts, written.new_usernames, written.credentials, where=f", vhost '{vhost}'"
    )
    typer.echo("on every node: rabbitmq-plugins enable rabbitmq_mqtt, and this rabbitmq.conf")
    typer.echo(f"a running cluster: rabbitmqctl import_definitions {written.definitions}")


def _report_accounts(
    accounts: BrokerAccounts, new: tuple[str, ...], credentials: Path, *, where: str = ""
) -> None:
    """The accounts a config run set up (`where`: the broker's own detail of them), and
    where their passwords went."""
    stores = len({a.store for a in accounts.gateways})
    typer.echo(
        f"{len(accounts.gateways)} gateway accounts in {stores} stores, controller "
        f"'{accounts.controller.username}'{where}; {len(new)} new"
    )
    typer.echo(f"passwords are in {credentials} (mode 0600); hand each gateway its own")
