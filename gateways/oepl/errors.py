"""Errors of the OpenEPaperLink access point driver, under `GatewayError`.

GatewayError
+-- AccessPointError        the AP could not be reached, failed (5xx) or answered nonsense
    +-- AccessPointBusyError    409 "Come back later" after every retry
    +-- UnreadableRecordError   a tag record we cannot read (no MAC, a number field that is
                                no number or past what the AP holds, a hash of no MD5)
    +-- TagError                about one tag (`mac`)
        +-- TagRefusedError     the AP refused a request for a tag for good (unknown MAC,
                                ...: a 4xx, or 200 with an "Error..." body)
            +-- TagModelError   the tag is not the panel the image was drawn for
        +-- TagNotListedError   the AP does not list the tag (deleted on the AP): it lists
                                it again at the tag's next check-in
        +-- TagParkedError      an image never reached the tag (it never checked in, ...)
+-- WatcherFailedError      the driver's tag-list watcher ended with an error of another
                            kind (a bug, or an AP answer nothing reads): each push waiting
                            on it fails with it (`__cause__`); not an `AccessPointError`,
                            which the radio reports as an AP that may work later
"""

from __future__ import annotations

from gateways.errors import GatewayError

__all__ = [
    "AccessPointBusyError",
    "AccessPointError",
    "TagError",
    "TagModelError",
    "TagNotListedError",
    "TagParkedError",
    "TagRefusedError",
    "UnreadableRecordError",
    "WatcherFailedError",
]


class AccessPointError(GatewayError):
    code = "oepl_access_point"

    def __init__(self, *, ap: str, reason: str) -> None:
        super().__init__(f"OpenEPaperLink AP {ap}: {reason}", ap=ap, reason=reason)


class AccessPointBusyError(AccessPointError):
    code = "oepl_access_point_busy"


class UnreadableRecordError(AccessPointError):
    """One record of the AP's tag list cannot be read: `field` is missing or holds
    `value`, which is not what the AP documents. `mac` names the tag ("" when the record
    has none). Not about the tag itself, so not a `TagError`: the AP may list it well
    again."""

    code = "oepl_unreadable_record"

    def __init__(self, *, ap: str, mac: str, field: str, value: object) -> None:
        shown = "missing" if value is None else _shortened(value)
        reason = f"tag record {mac or '(without a MAC)'}: {field} is {shown}"
        GatewayError.__init__(
            self,
            f"OpenEPaperLink AP {ap}: {reason}",
            ap=ap,
            mac=mac,
            field=field,
            value=None if value is None else shown,
            reason=reason,
        )
        self.mac = mac
        self.reason = reason


_SHOWN_CHARS = 40


def _shortened(value: object) -> str:
    """`value` as a log line shows it: whole when short, else its start and its length (a
    number of 400 digits, or a megabyte of text, would bury the line and the ones after)."""
    if isinstance(value, int):
        try:
            digits = str(abs(value))
        except ValueError:  # past the digits Python writes out
            return f"an integer of {value.bit_length()} bits"
        if len(digits) <= _SHOWN_CHARS:
            return repr(value)
        return f"{'-' if value < 0 else ''}{digits[:10]}... ({len(digits)} digits)"
    text = repr(value)
    if len(text) <= _SHOWN_CHARS:
        return text
    return f"{text[: _SHOWN_CHARS - 10]}... ({len(text)} characters)"


class TagError(AccessPointError):
    """The AP said something about one tag; `mac` names it."""

    code = "oepl_tag"

    def __init__(self, *, ap: str, mac: str, reason: str) -> None:
        GatewayError.__init__(self, f"AP {ap}, tag {mac}: {reason}", ap=ap, mac=mac, reason=reason)


class TagRefusedError(TagError):
    code = "oepl_tag_refused"


class TagModelError(TagRefusedError):
    """The AP serves the tag as another display model than the image was drawn for
    (`image_model`); `tag_model` is the tag's (None: its type is none of ours). Refused
    before anything is uploaded: the same size is not the same panel (a red plane drawn
    in yellow, or dropped on a black/white tag, is a wrong price on the shelf)."""

    code = "oepl_tag_model"

    def __init__(self, *, ap: str, mac: str, image_model: str, tag_model: str | None, why: str):
        shown = tag_model or f"none of our models ({why})"
        super().__init__(
            ap=ap, mac=mac, reason=f"the tag is {shown} at the AP, the image is for {image_model}"
        )
        self.fields.update(image_model=image_model, tag_model=tag_model)
        self.image_model = image_model
        self.tag_model = tag_model


class TagNotListedError(TagError):
    """The AP's tag database does not list the tag. Not a refusal for good: a tag deleted
    on the AP (`/tag_cmd del`, from its web page or anyone on the store's LAN) is listed
    again, still showing its old image, when it next checks in (about every 40 s); a
    refusal would keep that old price on the shelf."""

    code = "oepl_tag_not_listed"

    def __init__(self, *, ap: str, mac: str) -> None:
        super().__init__(ap=ap, mac=mac, reason="not in the AP's tag database")


class TagParkedError(TagError):
    """The tag did not take the image; `reason` says why (for the operator and the logs)."""

    code = "oepl_tag_parked"


class WatcherFailedError(GatewayError):
    """The driver's watcher (the one task listing the AP's tags for every waiting push)
    ended with `error`, which is no `AccessPointError`: the listings it stopped making
    are what a waiting push is confirmed or given up by, so each fails with this."""

    code = "oepl_watcher_failed"

    def __init__(self, *, ap: str, error: BaseException) -> None:
        reason = f"the tag list watcher failed: {type(error).__name__}: {error}"
        super().__init__(f"OpenEPaperLink AP {ap}: {reason}", ap=ap, reason=reason)
