"""An emulated OpenEPaperLink access point with emulated tags (HTTP, as the real AP).

`EmulatedAccessPoint` is the AP's state and its tags' pixels, time passed in;
`ServedAccessPoint` (in `firmware_sim.oepl_ap.http_app`, imported on use: it pulls in
uvicorn) serves it on a local port. Tag types are our own (`tag_types.py`).
"""

from firmware_sim.oepl_ap.access_point import (
    AccessPointConfig,
    EmulatedAccessPoint,
    EmulatedTag,
    UploadAnswer,
    planes_from_raw,
    raw_from_jpeg,
    transfer_size,
)
from firmware_sim.oepl_ap.tag_types import TAG_TYPES

__all__ = [
    "TAG_TYPES",
    "AccessPointConfig",
    "EmulatedAccessPoint",
    "EmulatedTag",
    "UploadAnswer",
    "planes_from_raw",
    "raw_from_jpeg",
    "transfer_size",
]
