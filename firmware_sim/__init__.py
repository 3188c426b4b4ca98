"""Simulated labels and store gateways that speak the real protocol (docs/protocol.md).

Shares only `gateways.protocol` and `rendering.encoding` with the controller, so tests
that drive it exercise the controller's own bytes. The MQTT runner lives in
`firmware_sim.mqtt_gateway` and is not imported here: `import firmware_sim` pulls in no
transport library.
"""

from firmware_sim.faults import FaultPlan, RadioConditions, SimulatedRadio
from firmware_sim.fleet import (
    LabelProvision,
    build_labels,
    make_fleet,
    read_provisioning,
    write_provisioning,
)
from firmware_sim.hardware import LabelHardware, PowerProfile, hardware_for
from firmware_sim.images import ImageStore
from firmware_sim.label import FIRMWARE_VERSION, LabelSnapshot, SimulatedLabel
from firmware_sim.label_store import LabelStateStore
from firmware_sim.simulation import SimulatedSite, SiteConfig, open_simulated_gateway
from firmware_sim.store_gateway import GatewayStats, PendingFrame, StoreGatewaySim

__all__ = [
    "FIRMWARE_VERSION",
    "FaultPlan",
    "GatewayStats",
    "ImageStore",
    "LabelHardware",
    "LabelProvision",
    "LabelSnapshot",
    "LabelStateStore",
    "PendingFrame",
    "PowerProfile",
    "RadioConditions",
    "SimulatedLabel",
    "SimulatedRadio",
    "SimulatedSite",
    "SiteConfig",
    "StoreGatewaySim",
    "build_labels",
    "hardware_for",
    "make_fleet",
    "open_simulated_gateway",
    "read_provisioning",
    "write_provisioning",
]
