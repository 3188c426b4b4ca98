"""`esl gateway oepl import-tags`: register an OpenEPaperLink AP's tags as labels.

Two halves, so the store side never needs the controller's database:

- in the store, `read_access_point_tags` reads the AP's inventory and tag types, maps each
  type to one of our display models (a type without one is reported, never guessed) and
  gives each new tag a fresh random key; the keys go into the gateway's provisioning file
  (mode 0600, the format of docs/protocol.md plus each label's radio `address`) first, so
  a key the controller accepts is never one the gateway lost;
- at the controller, `register_access_point_tags` checks the whole inventory and registers
  the labels with their models and keys, all or nothing; a tag registered on another
  gateway (another AP of the store: it roamed) is skipped and reported per tag, and the
  rest are registered. The API route
  (`POST /api/v1/stores/{store}/oepl/tags`) calls it for a gateway holding only an API key;
  `import_access_point_tags` does both halves on one machine (direct database access).

Running it again adds only new tags: a label already in the file keeps its key, and its
model: a known tag the AP now serves as another model is skipped with that reason (its
images are refused by the driver until the tag or the file's model is put right). A tag
the controller skipped as registered on another gateway is left out of this gateway's
file again (its fresh key was never the label's): it stays with the AP it was registered
on (docs/gateways.md). A known label is found by the tag its id names, in any spelling
(`00000258000000ab` in the file is the AP's `00000258000000AB`): it keeps its id and key,
never a second entry for its tag, which the gateway refuses its whole file for. A
registration the controller refuses leaves the gateway's file as it was
(`restore_gateway_provisioning`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from esl.db.models import LabelRow
from esl.db.repositories import in_chunks
from esl.errors import ImportRejectedError
from esl.pipeline.label_models import ModelChange
from esl.pipeline.provisioning import register_provisioned_labels
from esl.text_files import read_provisioning_file
from gateways.oepl import AccessPointDriver
from gateways.oepl.addresses import tag_address, tag_named_by
from gateways.protocol import (
    LabelProvision,
    check_label_key,
    generate_label_key,
    parse_provisioning,
    write_provisioning_file,
)
from pricing.errors import EslError
from rendering.display_models import DISPLAY_MODELS

__all__ = [
    "PROVISIONING_HINT",
    "AccessPointTag",
    "TagImport",
    "TagRegistration",
    "drop_skipped_new_tags",
    "import_access_point_tags",
    "read_access_point_tags",
    "read_gateway_file",
    "read_gateway_keys",
    "register_access_point_tags",
    "restore_gateway_provisioning",
    "write_gateway_provisioning",
]

# What to do about a gateway's provisioning file that cannot be read: it holds the keys of
# the labels the controller registered, which are never replaced, so import-tags cannot
# simply write a new one.
PROVISIONING_HINT = (
    "it holds the keys of this gateway's labels: put back the file import-tags wrote "
    "(or a backup of it); docs/gateways.md, Setting up a store"
)


@dataclass(frozen=True, slots=True)
class AccessPointTag:
    """One tag of the AP's inventory as the gateway mapped it: `model_id` None with the
    `reason` when its tag type is none of our display models."""

    mac: str
    hw_type: int
    model_id: str | None
    key: bytes
    reason: str = ""


@dataclass
class TagImport:
    labels: list[LabelProvision] = field(default_factory=list)  # every label in the file
    added: int = 0  # labels new to the controller
    skipped: list[tuple[str, str]] = field(default_factory=list)  # MAC, why
    remodelled: list[ModelChange] = field(default_factory=list)  # the file's model taken


@dataclass(frozen=True, slots=True)
class TagRegistration:
    added: int  # labels new to the controller
    # MAC, why: tags registered on another gateway, left there
    skipped: list[tuple[str, str]] = field(default_factory=list)
    # Labels listed as another display model than registered: they took it (`label_models`)
    remodelled: list[ModelChange] = field(default_factory=list)


def read_gateway_keys(provisioning: Path) -> dict[str, LabelProvision]:
    """The labels (and keys) a provisioning file already holds, by label id; a file that
    cannot be read as one is `InputFileError` (never overwritten: it holds the keys)."""
    if not provisioning.exists():
        return {}
    provisioned = read_provisioning_file(provisioning, parse_provisioning, hint=PROVISIONING_HINT)
    return {label.label_id: label for label in provisioned.labels}


async def read_access_point_tags(
    driver: AccessPointDriver, known: dict[str, LabelProvision]
) -> tuple[list[AccessPointTag], TagImport]:
    """The AP's tags with their models and keys (known labels keep theirs), and the import
    as the provisioning file will hold it (every label, the skipped tags with reasons)."""
    tags: list[AccessPointTag] = []
    result = TagImport()
    # By the tag each label names, in its normal form: the AP lists `…AB`, a file
    # written by hand may say `…ab`. Looked up as written, the known label was taken for
    # a new tag, given a fresh key and written as a second label for it: the gateway
    # refuses such a file whole at its next start, and every label on the AP is stuck.
    labels = {tag_named_by(label_id) or label_id: held for label_id, held in known.items()}
    records = await driver.inventory()
    # A record the AP lists but we cannot read is skipped with why, as a tag without a model.
    result.skipped += [(error.mac, error.reason) for error in driver.unreadable.values()]
    for record in records:
        match = await driver.model_of(record)
        if match.model_id is None:
            result.skipped.append((record.mac, match.reason))
            continue
        held = labels.get(record.mac)
        if held is not None and held.model_id != match.model_id:
            # The tag's type changed under a known label (reflashed, or the AP's tag-type
            # definitions updated). A fresh key, written here before the controller
            # refused it (keys are never replaced), cut the label off at the gateway's
            # next reload; and a model change is the operator's call, not the AP's.
            result.skipped.append(
                (record.mac, _model_changed(record.hw_type, match.model_id, held))
            )
            continue
        if held is None:
            held = LabelProvision(
                label_id=record.mac, model_id=match.model_id, key=generate_label_key()
            )
            labels[record.mac] = held
        tags.append(
            AccessPointTag(
                mac=record.mac, hw_type=record.hw_type, model_id=match.model_id, key=held.key
            )
        )
    result.labels = list(labels.values())
    return tags, result


def _model_changed(hw_type: int, model_id: str, held: LabelProvision) -> str:
    return (
        f"the AP now serves it as {model_id} (tag type {hw_type:02X}), the label is a "
        f"{held.model_id}: key and model kept, its images refused until the tag is a "
        f"{held.model_id} again or the file's model is changed (docs/gateways.md)"
    )


def register_access_point_tags(
    session: Session,
    tags: Sequence[AccessPointTag],
    *,
    store: str,
    gateway: str,
    now: datetime,
) -> TagRegistration:
    """Register `tags` as labels of `store` on `gateway`; how many are new, and the tags
    skipped as registered on another gateway.

    All or nothing: a MAC that is no tag address (16 hex digits, `:` or `-` between
    them allowed; the label id is its normal form, `tag_address`), a tag without a display
    model, with a model we do not have, a tag type mapped to two models, or a MAC twice
    (in any spelling) is `ImportRejectedError` listing every such tag, and nothing is
    registered. A tag registered on another gateway (another AP of
    the store, or of another store) is skipped, with `registered on gateway ...` as its
    reason, and the others are registered: a tag belongs to the AP it was registered on
    (this AP gave it a fresh key the label does not have). A tag already registered on
    this gateway with another key is a `ConflictError` (keys are never silently
    replaced); with its key and another model, it takes that model and is planned again
    for it (`remodelled`; `read_access_point_tags` never sends one, the operator does by
    editing the gateway's file)."""
    problems: list[dict[str, object]] = []
    models_of_type: dict[int, str] = {}
    seen: set[str] = set()
    named: list[AccessPointTag] = []
    for line, tag in enumerate(tags, start=1):
        try:
            # The label id is the tag's address in its one normal form, as the AP lists
            # it: `…ab` and `…AB` are one tag, never two labels.
            tag = replace(tag, mac=tag_address(tag.mac))
        except ValueError as error:
            problems.append({"line": line, "mac": tag.mac, "reason": f"mac: {error}"})
            continue
        why = _refusal(tag, seen, models_of_type)
        if why:
            problems.append({"line": line, "mac": tag.mac, "reason": why})
        seen.add(tag.mac)
        named.append(tag)
    if problems:
        raise ImportRejectedError(
            f"{len(problems)} of {len(tags)} tags cannot be registered; nothing was",
            problems=problems,
        )
    tags = named
    elsewhere = _registered_elsewhere(session, [tag.mac for tag in tags], store, gateway)
    provisions = [
        LabelProvision(label_id=tag.mac, model_id=tag.model_id or "", key=tag.key)
        for tag in tags
        if tag.mac not in elsewhere
    ]
    remodelled: list[ModelChange] = []
    added = register_provisioned_labels(
        session, provisions, store=store, gateway=gateway, now=now, remodelled=remodelled
    )
    return TagRegistration(added=added, skipped=sorted(elsewhere.items()), remodelled=remodelled)


def _registered_elsewhere(
    session: Session, macs: list[str], store: str, gateway: str
) -> dict[str, str]:
    """The tags among `macs` registered on another gateway than `gateway`, and why."""
    found: dict[str, str] = {}
    for chunk in in_chunks(sorted(macs)):
        for label_id, label_store, label_gateway in session.execute(
            select(LabelRow.id, LabelRow.store, LabelRow.gateway).where(
                LabelRow.id.in_(chunk),
                LabelRow.gateway.is_not(None),
                LabelRow.gateway != gateway,
            )
        ):
            of_store = "" if label_store == store else f" of store {label_store}"
            found[label_id] = f"registered on gateway {label_gateway}{of_store}"
    return found


def drop_skipped_new_tags(
    result: TagImport, registration: TagRegistration, known: dict[str, LabelProvision]
) -> bool:
    """Take the tags the controller skipped, and this gateway's file did not hold before,
    out of `result.labels` (their fresh keys are no label's) and report them in
    `result.skipped`; whether the file must be written again."""
    result.added = registration.added
    result.skipped += registration.skipped
    result.remodelled += registration.remodelled
    skipped = {mac for mac, _ in registration.skipped if mac not in known}
    result.labels = [label for label in result.labels if label.label_id not in skipped]
    return bool(skipped)


def _refusal(tag: AccessPointTag, seen: set[str], models_of_type: dict[int, str]) -> str:
    if tag.mac in seen:
        return f"tag {tag.mac} is listed twice"
    try:
        check_label_key(tag.key)
    except ValueError as error:
        return str(error)
    if tag.model_id is None:
        why = tag.reason or "the gateway found no display model for it"
        return f"tag type {tag.hw_type:02X} has no display model: {why}"
    if tag.model_id not in DISPLAY_MODELS:
        return f"no display model {tag.model_id!r} (known: {', '.join(sorted(DISPLAY_MODELS))})"
    first = models_of_type.setdefault(tag.hw_type, tag.model_id)
    if first != tag.model_id:
        return f"tag type {tag.hw_type:02X} is mapped to {first} and to {tag.model_id}"
    return ""


async def import_access_point_tags(
    sessions: sessionmaker[Session],
    driver: AccessPointDriver,
    *,
    store: str,
    gateway: str,
    provisioning: Path,
    now: datetime,
) -> TagImport:
    """Both halves on one machine: read the AP, write the keys, register in the database;
    a registration refused (`EslError`: nothing registered) puts the file back."""
    known = read_gateway_keys(provisioning)
    tags, result = await read_access_point_tags(driver, known)
    before = read_gateway_file(provisioning)
    write_gateway_provisioning(provisioning, result.labels, store=store, gateway=gateway)
    try:
        with sessions.begin() as session:
            registration = register_access_point_tags(
                session, tags, store=store, gateway=gateway, now=now
            )
    except EslError:
        restore_gateway_provisioning(provisioning, before)
        raise
    if drop_skipped_new_tags(result, registration, known):
        write_gateway_provisioning(provisioning, result.labels, store=store, gateway=gateway)
    return result


def write_gateway_provisioning(
    path: Path, labels: list[LabelProvision], *, store: str, gateway: str
) -> None:
    """The gateway's provisioning file: docs/protocol.md's format plus each label's radio
    `address` (an OEPL tag's MAC, which is also its label id)."""
    document = {
        "store": store,
        "gateway": gateway,
        "labels": [
            {"label_id": p.label_id, "address": p.label_id, "model": p.model_id, "key": p.key.hex()}
            for p in labels
        ],
    }
    write_provisioning_file(path, json.dumps(document, indent=1))


def read_gateway_file(path: Path) -> str | None:
    """The gateway's provisioning file as it is, before import-tags writes it (None: there
    is none), for `restore_gateway_provisioning`."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def restore_gateway_provisioning(path: Path, before: str | None) -> None:
    """Put the gateway's file back as `read_gateway_file` read it, after the controller
    refused the registration (nothing registered, so no key written since is one the
    controller holds). Left as written, a refused file's fresh keys were no label's, and
    one naming a tag twice was refused whole by the gateway at its next start."""
    if before is None:
        path.unlink(missing_ok=True)
    else:
        write_provisioning_file(path, before)
