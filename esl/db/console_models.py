"""The web console's sign-in sessions; label actions (flash, ping, refresh) and their answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from esl.db.models import Base, Serial
from esl.db.types import UtcDateTime

__all__ = ["ConsoleSessionRow", "ConsoleUploadRow", "LabelActionFrameRow", "LabelActionRow"]


class ConsoleSessionRow(Base):
    """An API key exchanged for a browser session: the cookie holds a token stored as its
    sha256; revoking the session (sign-out) or the key ends it."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    # Sent back in every form and htmx request: a page of another site cannot know it.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ConsoleUploadRow(Base):
    """A file previewed in the console, kept until it is published or expires (migration
    0034): "Publish now" names it by id and SHA-256 digest instead of sending the file
    back, so what is published is byte for byte what was previewed, whatever its size."""

    __tablename__ = "console_uploads"

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    # Only the session that previewed it may publish it.
    console_session_id: Mapped[int] = mapped_column(ForeignKey("console_sessions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # prices | promotions
    filename: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))  # sha256 of `content`, hex
    content: Mapped[bytes] = mapped_column(LargeBinary)  # the file as uploaded
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    # The prices the preview was drawn with: the newest price rule and promotion versions
    # then (0 when none), so the publish can tell another writer changed them since
    # (migration 0044); NULL for a file kept before it, previewed with prices unknown.
    rule_version_seen: Mapped[int | None] = mapped_column(BigInteger)
    promotion_version_seen: Mapped[int | None] = mapped_column(BigInteger)
    # What the file did to the shelves in its preview: per store, a digest of the label
    # contents due (`esl.ui.console_uploads.shelves_seen`), so the publish can tell a
    # store moved, a product recategorised or history imported since (migration 0045);
    # NULL for a file kept before it.
    shelves_seen: Mapped[dict[str, str] | None] = mapped_column(JSON)


class LabelActionRow(Base):
    """A person asked a label to do something now: requested -> sent -> answered, or
    unanswered (no answer in time) or failed (could not be sent, with `detail`)."""

    __tablename__ = "label_actions"
    __table_args__ = (Index("ix_label_actions_label_sequence", "label_id", "sequence"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    label_id: Mapped[str] = mapped_column(ForeignKey("labels.id"))
    action: Mapped[str] = mapped_column(String(16))  # flash | ping | refresh
    status: Mapped[str] = mapped_column(String(16), index=True)
    sequence: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str] = mapped_column(String(128))
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    reason: Mapped[str | None] = mapped_column(String(32))  # the label's reason code
    led_on: Mapped[bool | None] = mapped_column()
    battery_mv: Mapped[int | None] = mapped_column(Integer)
    rssi_dbm: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(256))
    # A refresh: the label's last outbox row when it was taken up; only an image frame
    # after it, acknowledged, answers the refresh.
    after_outbox_id: Mapped[int | None] = mapped_column(BigInteger)
    # When a refresh's second step (Refresh Display) began: its image confirmed; an
    # unassociation's (Unassociate): its identification screen confirmed. A label busy
    # with an update is waited for from it (unset: from the request), since the image may
    # go out long after the request (migration 0024).
    step_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The gateway to send it through when not the label's own: the probe of a label
    # heard via another gateway of its store (`label_moves.request_probes`, 0036).
    via_gateway: Mapped[str | None] = mapped_column(String(64))


class LabelActionFrameRow(Base):
    """Every sequence number a label action was signed with (migration 0026). An action
    answered busy is signed again with a new number while the store gateway may still
    deliver the first copy; the label's answer to it names a number the controller
    signed, which `label_actions.sequence` (the last one) alone forgot."""

    __tablename__ = "label_action_frames"
    __table_args__ = (Index("ix_label_action_frames_label_sequence", "label_id", "sequence"),)

    id: Mapped[int] = mapped_column(Serial, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("label_actions.id"))
    label_id: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(BigInteger)
