"""OpenEPaperLink access point driver: the AP's HTTP interface behind our own values.

`AccessPointDriver(AccessPointClient("http://ap"))` reads the inventory and tag types,
maps tag types to display models (`display_model_for`), pushes images and confirms they
arrived, flashes LEDs and sends tag commands. httpx types stop in `client.py`.
"""

from gateways.oepl.client import AccessPointClient
from gateways.oepl.driver import AccessPointDriver, Delivery, DriverTimings
from gateways.oepl.errors import (
    AccessPointBusyError,
    AccessPointError,
    TagModelError,
    TagNotListedError,
    TagParkedError,
    TagRefusedError,
)
from gateways.oepl.models import ModelMatch, TagCommand, TagRecord, TagType, display_model_for

__all__ = [
    "AccessPointBusyError",
    "AccessPointClient",
    "AccessPointDriver",
    "AccessPointError",
    "Delivery",
    "DriverTimings",
    "ModelMatch",
    "TagCommand",
    "TagModelError",
    "TagNotListedError",
    "TagParkedError",
    "TagRecord",
    "TagRefusedError",
    "TagType",
    "display_model_for",
]
