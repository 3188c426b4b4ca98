"""Open a simulated store gateway with its labels, from a state directory.

The first start makes (or reads) the fleet, writes the provisioning file for the
controller and saves every label; later starts load the labels as they were, so a
restart keeps what each label displays, its key and its sequence counter.

    state_dir/{store}-{gateway}.sqlite        label state and images
    state_dir/{store}-{gateway}-labels.json   provisioning file: label ids, models, keys
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from firmware_sim.faults import FaultPlan
from firmware_sim.fleet import (
    build_labels,
    make_fleet,
    read_provisioning,
    site_prefix,
    write_provisioning,
)
from firmware_sim.images import ImageStore
from firmware_sim.label_store import LabelStateStore
from firmware_sim.store_gateway import StoreGatewaySim

__all__ = ["SimulatedSite", "SiteConfig", "open_simulated_gateway"]


@dataclass(frozen=True, slots=True)
class SiteConfig:
    store: str
    gateway: str
    state_dir: Path
    label_count: int = 500
    model_id: str = "2.9-bwr"
    key_secret: bytes | None = None
    provisioning_file: Path | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    check_in_interval_s: float = 40.0
    max_attempts: int = 5
    report_check_ins: bool = False
    # Labels listen between check-ins: a frame is delivered as it arrives.
    listening: bool = False

    @property
    def state_path(self) -> Path:
        return self.state_dir / f"{site_prefix(self.store, self.gateway)}.sqlite"

    @property
    def manifest_path(self) -> Path:
        return self.state_dir / f"{site_prefix(self.store, self.gateway)}-labels.json"


@dataclass(slots=True)
class SimulatedSite:
    """A gateway simulation with its storage; `advance()` persists the labels that took a
    frame before their answers leave, `save()` every label."""

    config: SiteConfig
    gateway: StoreGatewaySim
    storage: LabelStateStore
    images: ImageStore

    def advance(self, *, now: datetime) -> list[bytes]:
        """`gateway.advance`, with every label that took a frame saved durably before its
        answer is returned: a crash (kill -9) right after an answer leaves never loses
        the image the label acknowledged."""
        answers = self.gateway.advance(now=now)
        changed = self.gateway.take_changed()
        if changed:
            self.storage.save(changed, images=self.images)
        return answers

    def save(self) -> None:
        self.storage.save(self.gateway.labels.values(), images=self.images)
        self.images.retain(_held_hashes(self.gateway))

    def reload_labels(self, *, now: datetime) -> None:
        """Restart: drop in-memory state and load every label back from storage."""
        self.images = ImageStore()
        labels = self.storage.load(images=self.images, now=now)
        self.gateway.restart(now=now, labels=labels)

    def close(self) -> None:
        self.save()
        self.storage.close()


def open_simulated_gateway(config: SiteConfig, *, now: datetime) -> SimulatedSite:
    images = ImageStore()
    storage = LabelStateStore(config.state_path)
    labels = storage.load(images=images, now=now)
    if not labels:
        if config.provisioning_file is not None:
            provisions = read_provisioning(config.provisioning_file)
        else:
            provisions = make_fleet(
                store=config.store,
                gateway=config.gateway,
                count=config.label_count,
                model_id=config.model_id,
                secret=config.key_secret,
            )
        labels = build_labels(provisions, now=now, images=images, seed=config.faults.seed)
        write_provisioning(
            config.manifest_path, provisions, store=config.store, gateway=config.gateway
        )
        storage.save(labels, images=images)
    gateway = StoreGatewaySim(
        store=config.store,
        gateway=config.gateway,
        labels={label.label_id: label for label in labels},
        start=now,
        faults=config.faults,
        check_in_interval_s=config.check_in_interval_s,
        max_attempts=config.max_attempts,
        report_check_ins=config.report_check_ins,
        listening=config.listening,
    )
    return SimulatedSite(config=config, gateway=gateway, storage=storage, images=images)


def _held_hashes(gateway: StoreGatewaySim) -> set[bytes]:
    held: set[bytes] = set()
    for label in gateway.labels.values():
        held.update(h for h in label.page_hashes if h is not None)
        if label.shown_hash is not None:
            held.add(label.shown_hash)
    return held
