"""Errors of the OpenEPaperLink access point driver, under `GatewayError`.

GatewayError
+-- AccessPointError        the AP could not be reached or answered nonsense
    +-- AccessPointBusyError    409 "Come back later" after every retry
    +-- TagRefusedError         the AP refused a request for a tag (unknown MAC, ...)
    +-- TagParkedError          an image never reached the tag (it never checked in, ...)
"""

from __future__ import annotations

from gateways.errors import GatewayError

__all__ = ["AccessPointBusyError", "AccessPointError", "TagParkedError", "TagRefusedError"]


class AccessPointError(GatewayError):
    code = "oepl_access_point"

    def __init__(self, *, ap: str, reason: str) -> None:
        super().__init__(f"OpenEPaperLink AP {ap}: {reason}", ap=ap, reason=reason)


class AccessPointBusyError(AccessPointError):
    code = "oepl_access_point_busy"


class TagRefusedError(AccessPointError):
    code = "oepl_tag_refused"

    def __init__(self, *, ap: str, mac: str, reason: str) -> None:
        GatewayError.__init__(self, f"AP {ap}, tag {mac}: {reason}", ap=ap, mac=mac, reason=reason)


class TagParkedError(AccessPointError):
    """The tag did not take the image; `reason` says why (for the operator and the logs)."""

    code = "oepl_tag_parked"

    def __init__(self, *, ap: str, mac: str, reason: str) -> None:
        GatewayError.__init__(self, f"AP {ap}, tag {mac}: {reason}", ap=ap, mac=mac, reason=reason)
