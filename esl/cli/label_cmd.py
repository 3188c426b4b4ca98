"""`esl label flash|ping|refresh|bind|unbind|unassociate|retire|show`: one label, from the shell.

Flash, ping and refresh are queued in the store of record and sent by the running
controller (`esl run`) as signed frames; the command waits for the label's answer. The
shell has the database, so it acts as an operator (the admin role), recorded as `cli`.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import typer
from sqlalchemy.orm import Session

from esl.cli.invocation import sessions_of, settings_of
from esl.db.console_models import LabelActionRow
from esl.db.models import LabelRow, LabelStateRow, ProductRow
from esl.db.repositories.rows import row_or_not_found
from esl.services.health import label_condition
from esl.services.keys import Principal, Role
from esl.services.label_status import StatusThresholds
from esl.services.labels import bind_label, current_binding, unbind_label
from esl.services.product_codes import product_by_code
from esl.settings import Settings

__all__ = ["register"]

OPERATOR = Principal(name="cli", role=Role.ADMIN, store=None)
# The values of `ActionKind` staff ask for here, named without importing it: its module
# loads the pipeline, which every other `esl` command would pay for.
StaffAction = Literal["flash", "ping", "refresh"]
Wait = Annotated[
    float | None,
    typer.Option(
        "--wait",
        min=0.0,
        help="Seconds to wait for the answer (0: only queue; default: as long as the "
        "controller may take, by its ESL_LABEL_ACTION_* limits).",
        show_default=False,
    ),
]
_OPEN = ("requested", "sent")


def _act(ctx: typer.Context, kind: StaffAction, label_id: str, wait_s: float | None) -> None:
    # Imported here, as the controller's timings below: the pipeline's modules would cost
    # every other `esl` command.
    from esl.services.label_actions import ActionKind, request_action

    sessions = sessions_of(ctx)
    with sessions() as session, session.begin():
        action_id = request_action(
            session,
            principal=OPERATOR,
            label_id=label_id,
            kind=ActionKind(kind),
            now=datetime.now(UTC),
        ).id
    _follow(ctx, kind, label_id, action_id, wait_s)


def _follow(
    ctx: typer.Context,
    kind: str,
    label_id: str,
    action_id: int,
    wait_s: float | None,
    *,
    success_only: bool = False,
) -> None:
    """Wait up to `wait_s` for the label's answer and say it; exit 1 without one (or,
    `success_only`, without the label's SUCCESS). None: as long as the controller may
    take to end the action, so that "no answer" means it is not running, not that the
    action is still under way (a refresh's image may go out minutes after the request)."""
    if wait_s is None:
        from esl.composition import label_action_timings

        settings = settings_of(ctx)
        longest = label_action_timings(settings).longest(kind).total_seconds()
        wait_s = longest + 2 * settings.controller_poll_s  # a round to take it up, one to end it
    if wait_s <= 0:
        typer.echo(f"{kind} queued for {label_id} (action {action_id})")
        return
    sessions = sessions_of(ctx)
    deadline = time.monotonic() + wait_s
    while True:
        with sessions() as session:
            action = session.get(LabelActionRow, action_id)
            assert action is not None
            status, detail, reason = action.status, action.detail, action.reason
        if status not in _OPEN or time.monotonic() >= deadline:
            break
        time.sleep(0.2)  # a person waits for a label, not a test for a condition
    if status == "answered" and (reason == "SUCCESS" or not success_only):
        typer.echo(f"{label_id}: {detail}")
        return
    if status in _OPEN:
        typer.echo(
            f"{label_id}: no answer in {wait_s:g} s ({status}); is the controller "
            "(`esl run`) running? `esl label show` shows the answer when it comes.",
            err=True,
        )
    else:
        typer.echo(f"{label_id}: {status}: {detail}", err=True)
    raise typer.Exit(1)


def _label_facts(session: Session, label_id: str, settings: Settings) -> dict[str, Any]:
    from esl.services.label_actions import recent_actions

    label = row_or_not_found(session, LabelRow, label_id, "label")
    binding = current_binding(session, label_id)
    product = session.get(ProductRow, binding.sku) if binding else None
    state = session.get(LabelStateRow, label_id)
    condition = label_condition(
        session,
        label_id,
        now=datetime.now(UTC),
        thresholds=StatusThresholds.from_settings(settings),
    )
    return {
        "label": label.id,
        "store": label.store,
        "model": label.model,
        "gateway": label.gateway,
        "retired_at": label.retired_at.isoformat() if label.retired_at else None,
        "status": condition.status.value,
        "reason": condition.reason,
        "offline": condition.offline,
        "low_battery": condition.low_battery,
        "sku": binding.sku if binding else None,
        "product": product.name if product else None,
        "gtin": product.gtin if product else None,
        "battery_mv": state.battery_mv if state else None,
        "rssi_dbm": state.rssi_dbm if state else None,
        "last_seen": state.last_seen.isoformat() if state and state.last_seen else None,
        "actions": [
            {
                "id": a.id,
                "action": a.action,
                "status": a.status,
                "requested_at": a.requested_at.isoformat(),
                "detail": a.detail,
            }
            for a in recent_actions(session, label_id, limit=5)
        ],
    }


def register(app: typer.Typer) -> None:
    label = typer.Typer(no_args_is_help=True, help="One label: find it, ask it, bind it.")

    @label.command("flash")
    def flash(
        ctx: typer.Context, label_id: Annotated[str, typer.Argument()], wait: Wait = None
    ) -> None:
        """Flash the label's LED for 30 s so it is found on the shelf."""
        _act(ctx, "flash", label_id, wait)

    @label.command("ping")
    def ping(
        ctx: typer.Context, label_id: Annotated[str, typer.Argument()], wait: Wait = None
    ) -> None:
        """Ask the label to answer: alive, battery, signal."""
        _act(ctx, "ping", label_id, wait)

    @label.command("refresh")
    def refresh(
        ctx: typer.Context, label_id: Annotated[str, typer.Argument()], wait: Wait = None
    ) -> None:
        """Send the label its image again, then have it drawn (Refresh Display); wait for
        the label to say it drew it."""
        _act(ctx, "refresh", label_id, wait)

    @label.command("bind")
    def bind(
        ctx: typer.Context,
        label_id: Annotated[str, typer.Argument()],
        code: Annotated[str, typer.Argument(help="The product's SKU or EAN (scanned).")],
        template: Annotated[str, typer.Option("--template")] = "standard",
    ) -> None:
        """Bind (or re-bind) the label to a product by SKU or EAN."""
        with sessions_of(ctx)() as session, session.begin():
            product = product_by_code(session, code)
            bind_label(
                session,
                principal=OPERATOR,
                label_id=label_id,
                sku=product.sku,
                template=template,
                now=datetime.now(UTC),
            )
            name, sku = product.name, product.sku
        typer.echo(f"{label_id} bound to {sku} ({name})")

    @label.command("unbind")
    def unbind(ctx: typer.Context, label_id: Annotated[str, typer.Argument()]) -> None:
        """Unbind the label: it shows its identification screen until bound again."""
        with sessions_of(ctx)() as session, session.begin():
            unbind_label(session, principal=OPERATOR, label_id=label_id, now=datetime.now(UTC))
        typer.echo(f"{label_id} unbound")

    @label.command("retire")
    def retire(ctx: typer.Context, label_id: Annotated[str, typer.Argument()]) -> None:
        """Retire a broken or thrown-away label: its binding ends, the audit, health and
        keep-alive leave it out and nothing is sent to it again (its history stays). A
        BLE label is unassociated first (`esl label unassociate`, --force if gone)."""
        from esl.services.label_retirement import retire_label

        with sessions_of(ctx)() as session, session.begin():
            label = retire_label(
                session, principal=OPERATOR, label_id=label_id, now=datetime.now(UTC)
            )
            assert label.retired_at is not None
            when, by = label.retired_at.isoformat(), label.retired_by
        typer.echo(f"{label_id} retired at {when} by {by}")

    @label.command("unassociate")
    def unassociate(
        ctx: typer.Context,
        label_id: Annotated[str, typer.Argument()],
        wait: Wait = None,
        force: Annotated[
            bool,
            typer.Option(
                "--force",
                help="Forget it now without the device (lost, broken): the device keeps "
                "its old key until its own timeout (2 h) and its last image for good "
                "(retire it if gone).",
            ),
        ] = False,
    ) -> None:
        """Unassociate a BLE label: the controller (`esl run`) has it show its
        identification screen, sends it a signed Unassociate, and forgets its key and
        inventory row once the label confirmed (its history stays); a new kit associates
        it again. Exit 1 when the label did not confirm: it is still associated."""
        from esl.services.ble_inventory import unassociate_ble_label

        with sessions_of(ctx)() as session, session.begin():
            label = row_or_not_found(session, LabelRow, label_id, "label")
            action = unassociate_ble_label(
                session,
                principal=OPERATOR,
                store=label.store,
                label_id=label_id,
                now=datetime.now(UTC),
                force=force,
            )
            action_id, detail = action.id, action.detail
        if force:
            typer.echo(f"{label_id} {detail}")
            return
        _follow(ctx, "unassociate", label_id, action_id, wait, success_only=True)

    @label.command("show")
    def show(
        ctx: typer.Context,
        label_id: Annotated[str, typer.Argument()],
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    ) -> None:
        """The label's state, product, battery and last actions."""
        with sessions_of(ctx)() as session:
            facts = _label_facts(session, label_id, settings_of(ctx))
        if as_json:
            typer.echo(json.dumps(facts, sort_keys=True))
            return
        flags = [name for name in ("offline", "low_battery") if facts[name]]
        if facts["retired_at"]:
            flags.insert(0, f"retired at {facts['retired_at']}")
        state = facts["status"] + (f" ({facts['reason']})" if facts["reason"] else "")
        typer.echo(f"{facts['label']}  store {facts['store']}  {state} {' '.join(flags)}".rstrip())
        product = f"{facts['sku']} {facts['product']} (EAN {facts['gtin']})"
        typer.echo(f"  product  {product if facts['sku'] else 'not bound'}")
        typer.echo(
            f"  battery  {facts['battery_mv'] or '-'} mV, signal {facts['rssi_dbm'] or '-'} dBm"
        )
        typer.echo(f"  heard    {facts['last_seen'] or 'never'}")
        for action in facts["actions"]:
            typer.echo(
                f"  {action['requested_at']}  {action['action']}: {action['status']}"
                + (f" — {action['detail']}" if action["detail"] else "")
            )

    app.add_typer(label, name="label")
