"""Drive one OpenEPaperLink access point: inventory, tag types, image push with delivery
confirmed, LED flash and tag commands.

- **An image goes only to a tag of its display model.** The tag's type at the AP must
  map to the model the image was drawn for (`TagModelError` otherwise, before any upload):
  three 296 x 128 models differ only in their accent, drawn in yellow or dropped on the
  wrong one.
- **One upload in flight per AP.** Uploads wait for each other (`asyncio.Lock`); a
  `409 Come back later` is backpressure, retried with exponential backoff.
- **Delivery is confirmed, never assumed.** After an upload the tag's record is watched
  (one `/get_db` poll for every waiting push, not one per tag) until `pending` clears, the
  tag took an update since the push began (its update count and time changed), and
  `/current/<mac>.raw` holds exactly our pixels: an upload the AP dropped in silence,
  someone else's upload in between, or a pending mark the AP lost (a restart, `/tag_cmd
  clear`) is caught. The same image again is success (the AP does not resend the data
  version the tag holds) only when this driver saw the tag take it and the tag's last
  update is still that one, and the tag was not silent for longer than `silent_after_s`
  since (it may have roamed to another AP and taken an image there, which this AP's
  record never shows); otherwise the tag is made to fetch it again. Nor when this driver
  asked the tag for that image (uploaded it, or had it fetched), gave up waiting, and the
  tag has it pending still, or took an update this driver's watcher saw at its cadence
  with the AP settled on our image (the controller's retry of a frame the gateway gave
  up on): that update confirms it, and the tag draws its image once. A refresh asked
  (`redraw` without `for_update`) is always drawn. A watcher that fails otherwise than
  on an AP that cannot be read (a bug, an answer nothing here reads) fails every push
  waiting on it (`WatcherFailedError`), logged once; the next push starts another.
- **A redraw is confirmed by the tag drawing** (its update count rising after the
  `/tag_cmd` refresh), not by the AP's record settling: the AP held the image all along.
- **A tag that never checks in is parked with a reason** (`TagParkedError`) after
  `confirm_timeout_s` in which the AP's radio was free for it; its image stays pending
  at the AP, which drops it later. The window counts from the later of the upload and
  the last time a poll saw another tag take an image (the AP carries one at a time): a
  tag queued behind a hundred others waits its turn, often minutes at 2 s an image and
  a check-in every 40 s, and is not parked for waiting (which had its update sent again
  and drawn twice once it came).
- **How long a tag has been silent is measured on the gateway's clock** (`heard`): the
  AP's `lastseen` is on the AP's clock, which may be hours off (no NTP after a power
  cut) or set back, so it is compared only with the AP's own values: a tag is heard
  when its `lastseen` changed (either way) since the gateway last read it, and a tag
  seen for the first time is as silent as its `lastseen` is behind the newest in the
  AP's listing. While the gateway cannot read the AP (a 5xx, the LAN down) it sees no
  `lastseen` at all: a tag whose stamp changed across such a gap was silent only as long
  as the reads showed it (the gateway was blind, not the tag silent).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gateways.oepl.client import AccessPointClient
from gateways.oepl.errors import (
    AccessPointBusyError,
    AccessPointError,
    TagModelError,
    TagNotListedError,
    TagParkedError,
    TagRefusedError,
    UnreadableRecordError,
    WatcherFailedError,
)
from gateways.oepl.images import jpeg_for, planes_from_stored
from gateways.oepl.models import ModelMatch, TagCommand, TagRecord, TagType, display_model_for
from rendering.encoding import Planes, content_hash

__all__ = ["AccessPointDriver", "Delivery", "DriverTimings", "Heard"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DriverTimings:
    poll_s: float = 2.0  # how often waiting pushes look at /get_db
    # About three check-ins of a real tag, counted from when the AP's radio was last seen
    # carrying another tag's image (or from the upload, if later): waiting for the radio
    # is not counted against a tag.
    confirm_timeout_s: float = 150.0
    busy_base_delay_s: float = 0.5
    busy_max_delay_s: float = 10.0
    busy_attempts: int = 12
    # A tag the AP has not heard from for this long does not answer pings or LED flashes
    # (a real tag checks in about every 40 s; this is about fifteen missed check-ins).
    silent_after_s: float = 600.0
    # How long the AP keeps an image a tag has not fetched (about 20 minutes): the watcher
    # looks for a late take of an image this driver asked for until then, no longer.
    pending_lifetime_s: float = 1200.0
    # A take of such an image confirms the controller's retry only when the watcher saw
    # it within two of its polls and this (how long a listing may take) of the last
    # listing that read the tag before it; otherwise the tag is made to fetch it again.
    listing_slack_s: float = 1.0


@dataclass(frozen=True, slots=True)
class Heard:
    """A tag as the AP lists it now, and for how long the AP has not heard from it, in
    the gateway's seconds."""

    record: TagRecord
    silent_s: float


@dataclass(slots=True)
class _Sighting:
    """A tag's `lastseen` stamp as this driver last read it."""

    last_seen: int  # the AP's stamp, on the AP's clock
    heard_at: float  # when the AP heard the tag, on this driver's clock
    read_at: float  # when this driver last read that same stamp
    # A read of the tag failed since `read_at` (the AP answered 5xx or not at all, or its
    # record could not be read): whether the AP heard the tag meanwhile was not seen.
    blind: bool = False


@dataclass(slots=True)
class _Request:
    """What this driver last asked a tag to take (an upload, or a refresh of the image the
    AP stores) and has not seen it take yet."""

    digest: bytes  # the content hash of the planes
    before: TagRecord  # the tag's record just before the request
    asked_at: float  # this driver's clock: watched until `pending_lifetime_s` after
    # When (this driver's clock) a listing last read the tag with `before`'s last update.
    unchanged_at: float
    # The first record a listing read with the tag's last update another than `before`'s,
    # when that listing came within `poll_s` (doubled) of the last one that read the tag
    # unchanged: (that update, the AP's hash of the image then, pending). The update the
    # tag took is ours only if the AP's record then already was what it is when it is
    # claimed: settled on the same image. A take seen later (a listing failed or left
    # the tag out meanwhile, the watcher had stopped) proves nothing: someone else's
    # image may have been taken and ours put back with the pending mark cleared between.
    first_taken: tuple[tuple[int, int], str, bool] | None = None
    # A take was seen, but not at the watcher's cadence: never confirmed, fetched again.
    unproven: bool = False


@dataclass(frozen=True, slots=True)
class Delivery:
    mac: str
    record: TagRecord  # the tag as the AP saw it when delivery was confirmed
    resent: bool  # False: the tag already held this image; nothing went over the radio


class AccessPointDriver:
    def __init__(
        self,
        client: AccessPointClient,
        *,
        timings: DriverTimings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.timings = timings or DriverTimings()
        self._clock = clock
        self._upload = asyncio.Lock()
        self._types: dict[int, TagType | None] = {}
        # The one read of a tag type on its way, by type: a burst of pushes (a price
        # change over a hundred tags) waits for it instead of each asking the AP.
        self._type_reads: dict[int, asyncio.Task[TagType | None]] = {}
        # Each tag's record with the number of the poll that read it: a push believes only
        # polls that started after its upload (an older one shows the tag before it).
        self._records: dict[str, tuple[int, TagRecord]] = {}
        # The content hash of the image each tag was last seen to take (this process),
        # with that update as the AP marks it (count, time): once the mark changed, the
        # tag took another image since, whatever the AP's record says it holds. The time
        # is what tells when the count started again from 0 (the tag deleted on the AP
        # and joined again) and came back to the same number.
        self._taken: dict[str, tuple[bytes, tuple[int, int]]] = {}
        # What this driver last asked each tag to take and has not seen it take yet: the
        # content hash of the planes (uploaded, or stored at the AP and refreshed) and the
        # tag's record just before the request. A push given up on (the tag did not take
        # the image within `confirm_timeout_s`, or the upload's answer was lost) leaves
        # the image pending at the AP, and the tag may take it after: asked for the same
        # planes again (the controller's retry), the driver confirms that update instead
        # of having the tag fetch and draw them a second time (`_fetch_unless_taken`).
        self._asked: dict[str, _Request] = {}
        self._polls = 0
        # When (this driver's clock) the newest listing that has ended, read or failed,
        # began: a tag is given up on only once a listing begun after its window closed
        # has ended (`_confirm`), never on a record read before.
        self._listed_from = float("-inf")
        # Set when a listing was read (or failed), then replaced for the next: each wait
        # holds the one it began with. An Event, not a Condition: a Condition's wait
        # re-acquires its lock when cancelled, and tasks cancelled together at a loop's
        # close (a gateway stopped mid-push) waited for it for ever.
        self._fresh = asyncio.Event()
        self._waiting = 0
        self._watcher: asyncio.Task[None] | None = None
        self.busy_answers = 0  # 409s taken, for the figures
        # The records the last listing could not read, by MAC ("" without one), with why.
        self.unreadable: dict[str, UnreadableRecordError] = {}
        # Each tag's `lastseen` as last read, with when (this driver's clock) the AP heard
        # it: the AP's clock is never compared with ours, only with itself.
        self._heard: dict[str, _Sighting] = {}
        # The tags heard again after a silence longer than `silent_after_s`, until a
        # delivery to them is confirmed: such a tag may have been at another AP of the
        # store meanwhile and taken an image there, which this AP's record never shows.
        self._returned: set[str] = set()
        # The last two tags a poll saw take an image (their update mark changed), newest
        # first, with when (this driver's clock): the AP's one radio was busy for anyone
        # else until then. Two, so that a tag finds the latest transfer that was not its own.
        self._carried: list[tuple[str, float]] = []

    @property
    def ap(self) -> str:
        return self.client.base_url

    async def close(self) -> None:
        for read in list(self._type_reads.values()):
            read.cancel()
        # One that ended with an error was logged then (`_watcher_ended`), and its
        # error is the waiting pushes' to raise, not the closing gateway's.
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.client.close()

    # ------------------------------------------------------------ inventory

    async def inventory(self) -> list[TagRecord]:
        """The tags the AP lists; a record that cannot be read is left out (logged) and
        kept with its reason in `unreadable`, by MAC, until a listing reads it again."""
        self._polls += 1
        poll = self._polls
        started = self._clock()
        try:
            records, unreadable = await self.client.tags()
        except AccessPointError:
            self._note_blind(self._heard)
            raise
        finally:
            self._listed_from = max(self._listed_from, started)
        self.unreadable = {error.mac: error for error in unreadable}
        self._note_heard(records)
        self._note_blind([error.mac for error in unreadable])
        for record in records:
            previous = self._records.get(record.mac)
            if previous is not None and previous[1].last_update != record.last_update:
                self._note_carried(record.mac)
            if (previous or (0, record))[0] < poll:
                self._records[record.mac] = (poll, record)
            self._note_asked(record, started)
        return records

    def _note_asked(self, record: TagRecord, started: float) -> None:
        """A listing begun at `started` read `record`: the first sighting of a take of an
        image this driver asked the tag for is kept, when it came at the watcher's cadence
        (counted from the start of the last listing that read the tag unchanged to the end
        of this one: listings may overlap and end out of order)."""
        asked = self._asked.get(record.mac)
        if asked is None or asked.first_taken is not None or asked.unproven:
            return
        if record.last_update == asked.before.last_update:
            asked.unchanged_at = max(asked.unchanged_at, started)
        elif self._clock() - asked.unchanged_at <= self._cadence_s():
            asked.first_taken = (record.last_update, record.hash, record.pending)
        else:
            asked.unproven = True

    def _cadence_s(self) -> float:
        """The longest a take may go unseen by the watcher and still be proven ours."""
        return 2 * self.timings.poll_s + self.timings.listing_slack_s

    def _ask(self, mac: str, planes: Planes, before: TagRecord) -> None:
        """Note that this driver asks the tag `mac` (`before`, read just now) to take
        `planes`; the watcher looks for the take until the AP drops the image."""
        now = self._clock()
        self._asked[mac] = _Request(content_hash(planes), before, now, now)

    def _watching_asked(self) -> bool:
        """An image this driver asked a tag for may still be taken: the watcher goes on.
        Requests the AP has dropped the image of are forgotten (fetched again if asked)."""
        now = self._clock()
        lifetime = self.timings.pending_lifetime_s
        for mac, asked in list(self._asked.items()):
            if now - asked.asked_at > lifetime:
                del self._asked[mac]
        return any(
            asked.first_taken is None and not asked.unproven for asked in self._asked.values()
        )

    def _note_carried(self, mac: str) -> None:
        """A poll saw `mac` take an image: the AP's radio carried it until about now."""
        others = [entry for entry in self._carried if entry[0] != mac]
        self._carried = [(mac, self._clock()), *others][:2]

    def _radio_free_for(self, mac: str, since: float) -> float:
        """From when the AP's radio was free for `mac` (its confirm window counts from
        then): the later of `since` and the last transfer seen to another tag."""
        others = [at for carried, at in self._carried if carried != mac]
        return max([since, *others[:1]])

    async def record(self, mac: str) -> TagRecord | None:
        """The tag as the AP lists it now (None: not in its database)."""
        try:
            record = await self.client.tag(mac)
        except AccessPointError:
            self._note_blind([mac.upper()])
            raise
        if record is not None and record.mac in self._heard:
            self._note_heard([record])
        return record

    async def heard(self, mac: str) -> Heard | None:
        """The tag as the AP lists it now and how long ago the AP heard it (None: not in
        its database). A tag this driver has not read before is read with the whole
        listing, whose newest `lastseen` is the AP's clock of about now."""
        record = await self.record(mac)
        if record is None:
            return None
        if record.mac not in self._heard:
            await self.inventory()
            self._note_heard([record])  # not listed (a listing page lost it): heard now
        return Heard(record=record, silent_s=self.silence(record.mac))

    def silence(self, mac: str) -> float:
        """How long (the gateway's seconds) the AP has not heard the tag `mac`, as of the
        last listing or record read (0: never read)."""
        seen = self._heard.get(mac.upper())
        return 0.0 if seen is None else self._clock() - seen.heard_at

    def returned(self, mac: str) -> bool:
        """The tag was heard again after a silence longer than `silent_after_s` and no
        delivery to it was confirmed since: what it shows is not known here."""
        return mac.upper() in self._returned

    def _note_heard(self, records: list[TagRecord]) -> None:
        """Note when the AP heard each tag: now, when its `lastseen` changed since it was
        last read (any change: the AP's clock may have been set back); for a tag read the
        first time, as long before now as its `lastseen` is behind the newest listed.
        Until a tag's `lastseen` changes, that first estimate stands: a tag that never
        checks in again is silent at the latest `silent_after_s` after it was first read.

        A tag heard again after a silence longer than `silent_after_s` may have roamed to
        another AP and taken an image there: this AP's record of it (the image it stores,
        its update count and time) did not change, so what this driver saw the tag take is
        forgotten (the same image again is then fetched, `push_image`) and the tag is
        `returned` until a delivery is confirmed. A shorter silence (an AP restart, a few
        missed check-ins) forgets nothing: redrawing every tag for it costs batteries.
        Nor does a gap in this driver's reads (`_silence_seen`): after the AP could not be
        read for a while, every tag's stamp has changed, though the tags checked in all
        along."""
        now = self._clock()
        newest = max((record.last_seen for record in records), default=0)
        for record in records:
            seen = self._heard.get(record.mac)
            if seen is None:
                heard_at = now - (newest - record.last_seen)
                self._heard[record.mac] = _Sighting(record.last_seen, heard_at, now)
            elif seen.last_seen != record.last_seen:
                if self._silence_seen(seen, now) > self.timings.silent_after_s:
                    self._taken.pop(record.mac, None)
                    self._asked.pop(record.mac, None)
                    self._returned.add(record.mac)
                self._heard[record.mac] = _Sighting(record.last_seen, now, now)
            else:
                # Still the same stamp: the AP did not hear the tag through any gap in
                # the reads either, so that gap counts as its silence.
                seen.read_at, seen.blind = now, False

    @staticmethod
    def _silence_seen(seen: _Sighting, now: float) -> float:
        """How long the AP's record shows the tag silent, for a tag whose stamp changed now:
        until now, unless a read failed since this driver last read the old stamp; then
        only until that read. The AP keeps one stamp per tag, so across a gap in the reads
        a tag that checked in every 40 s and one that was silent throughout (at another AP)
        look alike: the gap is not taken as the tag's silence, and a tag that roamed while
        the gateway could not read its AP is not caught here (only by the sequence of the
        next frame for its label). A driver that simply did not read (no push waiting,
        between health polls) was not blind: that time counts."""
        return (seen.read_at if seen.blind else now) - seen.heard_at

    def _note_blind(self, macs: Iterable[str]) -> None:
        """A read of these tags failed: what the AP heard of them since is not seen."""
        for mac in macs:
            seen = self._heard.get(mac)
            if seen is not None:
                seen.blind = True

    async def tag_type(self, hw_type: int) -> TagType | None:
        """The AP's tag type `hw_type` (None: it serves none), read once: callers that ask
        while it is on its way wait for that read. A failed read is not kept (the next
        caller asks again); a caller cancelled meanwhile leaves it to the others."""
        if hw_type in self._types:
            return self._types[hw_type]
        read = self._type_reads.get(hw_type)
        if read is None:
            read = asyncio.create_task(self.client.tag_type(hw_type))
            self._type_reads[hw_type] = read
            read.add_done_callback(functools.partial(self._type_read, hw_type))
        return await asyncio.shield(read)

    def _type_read(self, hw_type: int, read: asyncio.Task[TagType | None]) -> None:
        if self._type_reads.get(hw_type) is read:
            del self._type_reads[hw_type]
        if not read.cancelled() and read.exception() is None:
            self._types[hw_type] = read.result()

    async def model_of(self, record: TagRecord) -> ModelMatch:
        """Which display model the tag is, from its type as the AP serves it."""
        tag_type = await self.tag_type(record.hw_type)
        if tag_type is None:
            return ModelMatch(None, f"the AP has no tag type {record.hw_type:02X}")
        return display_model_for(tag_type)

    # ------------------------------------------------------------ images

    async def _known_tag(self, mac: str) -> tuple[TagRecord, TagType | None]:
        """The tag `mac` as the AP lists it now, and its type (None: the AP serves none);
        `TagNotListedError` for a tag not in the AP's database (deleted there: listed
        again at its next check-in)."""
        record = await self.client.tag(mac)
        if record is None:
            raise TagNotListedError(ap=self.ap, mac=mac)
        return record, await self.tag_type(record.hw_type)

    def _check_panel(self, mac: str, planes: Planes, model: str, tag_type: TagType | None) -> None:
        """`TagRefusedError` unless the tag's type at the AP is the display model `model`
        the image was drawn for, and of its size. The size alone is not enough: 2.9-bw,
        2.9-bwr and 2.9-bwy are all 296 x 128, and a red plane is drawn in yellow on a
        BWY tag (a red price becomes an unreadable yellow one) or dropped on a BW tag. A
        tag's type changes under a provisioned label when the tag is reflashed or the
        AP's tag-type definitions are updated."""
        if tag_type is None:
            raise TagModelError(
                ap=self.ap, mac=mac, image_model=model, tag_model=None, why="no tag type"
            )
        match = display_model_for(tag_type)
        if match.model_id != model:
            raise TagModelError(
                ap=self.ap, mac=mac, image_model=model, tag_model=match.model_id, why=match.reason
            )
        if (tag_type.width, tag_type.height) != (planes.width, planes.height):
            raise TagRefusedError(
                ap=self.ap, mac=mac, reason=f"image is {planes.width}x{planes.height}, not its size"
            )

    async def push_image(self, mac: str, planes: Planes, *, model: str) -> Delivery:
        """Put `planes`, drawn for the display model `model`, on the tag and return once
        the AP confirms the tag holds them; `TagModelError` when the tag is another model."""
        mac = mac.upper()
        before, tag_type = await self._known_tag(mac)
        self._check_panel(mac, planes, model, tag_type)
        assert tag_type is not None  # checked above
        taken = self._taken.get(mac) == (content_hash(planes), before.last_update)
        stored = None if taken else await self.client.stored_image(mac)
        if stored is not None and planes_from_stored(stored, tag_type) == planes:
            # The AP takes an upload of the image it stores as no change and sends nothing,
            # and unless this driver saw the tag take that image, whether it did is not
            # known: the AP drops an upload a tag never fetched after a while (about 20
            # minutes), and `/tag_cmd clear` drops it at once, both keeping it as the
            # tag's image. Only an update the tag takes proves it: it is made to fetch and
            # draw the image again. So does a tag whose last update is not the one in
            # which it took ours: someone else's image, though the AP's record may have
            # been put back to ours (and the count started again, the tag deleted).
            # Unless this driver asked for them and the tag took an update since.
            return await self._fetch_unless_taken(mac, planes, tag_type, before)
        # Noted before the upload: the AP may store the image though its answer is lost.
        self._ask(mac, planes, before)
        await self._upload_when_free(mac, jpeg_for(planes, tag_type))
        if before.pending:
            # Another image was pending: the tag may have taken it between `before` and our
            # upload, and that update would later pass for ours. So the tag is made to take
            # ours again, counted from the record after the upload.
            after = await self.client.tag(mac)
            if after is not None and after.last_update != before.last_update:
                return await self._fetch_again(mac, planes, tag_type, after)
        delivery = await self._confirm(mac, planes, tag_type, before)
        if delivery is None:
            # The AP stores our pixels and marks nothing pending, yet the tag took no update
            # since the push began: it held this image already, or the AP lost the pending
            # image (a restart reloads every record with nothing pending; `/tag_cmd clear`).
            # Only an update the tag takes tells these apart.
            return await self._fetch_again(mac, planes, tag_type, before)
        return delivery

    async def redraw(
        self, mac: str, planes: Planes, *, model: str, for_update: bool = False
    ) -> Delivery:
        """Have the tag take and draw `planes` (drawn for `model`) again (`/tag_cmd`
        refresh) although it holds them: the AP never resends an image the tag holds, so
        pushing it again would draw nothing. When the AP holds another image, `planes` are
        pushed instead. With `for_update` (an image update for a label whose image the
        gateway does not know, perhaps the controller's retry of one it gave up on), a
        late take of these planes this driver asked for and saw confirms it instead
        (`_fetch_unless_taken`); without (a refresh asked: the panel may look wrong), the
        tag always draws."""
        mac = mac.upper()
        before, tag_type = await self._known_tag(mac)
        self._check_panel(mac, planes, model, tag_type)
        assert tag_type is not None  # checked above
        stored = await self.client.stored_image(mac)
        held = None if stored is None else planes_from_stored(stored, tag_type)
        if held != planes:
            return await self.push_image(mac, planes, model=model)
        if not for_update:
            return await self._fetch_again(mac, planes, tag_type, before)
        return await self._fetch_unless_taken(mac, planes, tag_type, before)

    async def _fetch_unless_taken(
        self, mac: str, planes: Planes, tag_type: TagType, before: TagRecord
    ) -> Delivery:
        """The AP stores `planes` for the tag (`before`, read just now): have it fetch and
        draw them (`_fetch_again`), unless this driver asked the tag for these very planes
        and gave up waiting (the controller's retry of a frame the gateway gave up on),
        and the tag has them pending still (waited for as a first delivery is) or took
        them since: its last update is another than before the request, the AP settled on
        our pixels, and this driver's watcher saw that update at its cadence (`_cadence_s`
        from the last listing that read the tag before it) with the AP's record already
        so. A take not seen so (no listing saw it yet past the cadence, a listing failed
        or the watcher had stopped) is never taken as ours: someone else's image may have
        been taken, ours put back with `/imgupload` and the pending mark cleared. Fetched
        and drawn again, the tag would spend a second refresh and radio transfer on a
        price it shows; that is the safe mistake. An image the AP dropped unfetched
        (pending cleared, no update since) is fetched again."""
        asked = self._asked.get(mac)
        if asked is not None and asked.digest == content_hash(planes):
            earlier = asked.before
            if before.pending and before.last_update == earlier.last_update:
                delivery = await self._confirm(mac, planes, tag_type, earlier)
                if delivery is not None:
                    return delivery
            elif not before.pending and before.last_update != earlier.last_update:
                await self._sighted(asked)
                if not asked.unproven and asked.first_taken == (
                    before.last_update,
                    before.hash,
                    False,
                ):
                    return self._delivered(mac, planes, before, resent=True)
        return await self._fetch_again(mac, planes, tag_type, before)

    async def _sighted(self, asked: _Request) -> None:
        """Return once the watcher's first sighting of the tag's take is known (at most one
        cadence of it from the last listing that read the tag unchanged): the tag may have
        taken the image just before the retry, after the last listing."""
        self._start_watcher()
        while asked.first_taken is None and not asked.unproven:
            if self._clock() - asked.unchanged_at > self._cadence_s():
                asked.unproven = True
                return
            await self._next_poll(self.timings.poll_s * 2)

    async def _fetch_again(
        self, mac: str, planes: Planes, tag_type: TagType, before: TagRecord
    ) -> Delivery:
        """Make the tag fetch and draw the image the AP stores for it, `planes`; done when
        it took an update since `before`."""
        self._ask(mac, planes, before)
        await self.command(mac, TagCommand.REFRESH)
        delivery = await self._confirm(mac, planes, tag_type, before, redrawn=True)
        assert delivery is not None  # a redraw is confirmed by the tag drawing, or parked
        return Delivery(mac=mac, record=delivery.record, resent=True)

    async def _confirm(
        self,
        mac: str,
        planes: Planes,
        tag_type: TagType,
        before: TagRecord,
        *,
        redrawn: bool = False,
    ) -> Delivery | None:
        """Wait until a poll that began after our request shows the tag settled holding
        exactly `planes`, having taken an update since `before` (its last update is
        another; when `redrawn`, its count rose: a refresh is done when the tag drew, not
        when the AP holds the image, which it did all along). The AP's record settling on
        our pixels proves nothing by itself: the AP keeps an image it lost the pending
        mark of (a restart, `/tag_cmd clear`) as the tag's image. Settled on our pixels
        without an update, a push is still confirmed when this driver saw the tag take
        this image and its last update is still that one; otherwise None: the caller makes
        the tag fetch it. `TagParkedError` with the reason when it does not settle in time."""
        first_poll = self._polls + 1
        started = self._clock()
        self._waiting += 1
        self._start_watcher()
        try:
            while True:
                poll, record = self._records.get(mac, (0, None))
                if poll < first_poll:
                    record = None
                took = record is not None and (
                    record.update_count > before.update_count
                    if redrawn
                    else record.last_update != before.last_update
                )
                if record is not None and not record.pending and (took or not redrawn):
                    stored = await self.client.stored_image(mac)
                    held = None if stored is None else planes_from_stored(stored, tag_type)
                    if held == planes:
                        seen = self._taken.get(mac) == (content_hash(planes), record.last_update)
                        if not (took or seen):
                            return None
                        resent = took and record.hash != before.hash
                        return self._delivered(mac, planes, record, resent=resent)
                    if record.hash != before.hash:
                        raise TagParkedError(
                            ap=self.ap,
                            mac=mac,
                            reason="the AP holds another image (a second uploader?)",
                        )
                # Counted again after each poll: the radio may have carried another image.
                deadline = self._radio_free_for(mac, started) + self.timings.confirm_timeout_s
                remaining = deadline - self._clock()
                # Given up on only when a listing begun after the window closed has ended:
                # on a slow gateway or AP a listing takes seconds, and the record read
                # before may predate the upload (the tag took the image meanwhile, and a
                # give-up had the controller's retry draw it a second time).
                if remaining <= 0 and self._listed_from >= deadline:
                    latest = self._records.get(mac, (0, None))[1]
                    reason = self._why_not(latest, before, redrawn=redrawn)
                    raise TagParkedError(ap=self.ap, mac=mac, reason=reason)
                # Past the window: the wait is for that listing.
                wait_s = self.timings.poll_s * 2
                await self._next_poll(wait_s if remaining <= 0 else min(remaining, wait_s))
        finally:
            self._waiting -= 1

    def _delivered(self, mac: str, planes: Planes, record: TagRecord, *, resent: bool) -> Delivery:
        """The tag holds `planes`, taken in its last update as `record` shows it."""
        self._taken[mac] = (content_hash(planes), record.last_update)
        self._asked.pop(mac, None)
        self._returned.discard(mac)
        return Delivery(mac=mac, record=record, resent=resent)

    def _why_not(self, record: TagRecord | None, before: TagRecord, *, redrawn: bool) -> str:
        waited = self.timings.confirm_timeout_s
        if before.mac in self.unreadable:
            return self.unreadable[before.mac].reason
        if record is None:
            return "the tag left the AP's database"
        if record.pending and record.last_seen <= before.last_seen:
            return (
                f"never checked in within {waited:.0f} s of a free radio "
                f"(last seen at {record.last_seen})"
            )
        if record.pending:
            return f"checked in but did not take the image within {waited:.0f} s of a free radio"
        if redrawn:
            return f"did not draw its image again within {waited:.0f} s of a free radio"
        return "the AP did not store the image (it accepted the upload and dropped it)"

    async def _upload_when_free(self, mac: str, jpeg: bytes) -> None:
        delay = self.timings.busy_base_delay_s
        async with self._upload:
            for attempt in range(1, self.timings.busy_attempts + 1):
                try:
                    await self.client.upload(mac, jpeg)
                    return
                except AccessPointBusyError:
                    self.busy_answers += 1
                    if attempt == self.timings.busy_attempts:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.timings.busy_max_delay_s)

    # ------------------------------------------------------------ the one watcher

    def _start_watcher(self) -> None:
        """Start the watcher unless it runs: after one that ended (its pushes confirmed,
        given up on, or failed with it) the next waiting push starts a new one."""
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())
            self._watcher.add_done_callback(self._watcher_ended)

    def _watcher_ended(self, watcher: asyncio.Task[None]) -> None:
        """A watcher that ended with an error (anything but an `AccessPointError`, which
        it waits out: a bug, or an AP answer nothing here reads) is logged once, with its
        traceback, and the pushes waiting on it are woken to fail with it (`_next_poll`):
        the listings a push is confirmed or given up by ended with it, and a push past its
        window waited for one for good."""
        if watcher.cancelled() or watcher.exception() is None:
            return
        _log.error(
            "AP %s: the tag list watcher failed; the pushes waiting on it fail with it",
            self.ap,
            exc_info=watcher.exception(),
        )
        # Replaced, as a listing does: a set event left in place would let a wait that
        # begins later (on a new watcher) return at once, over and over.
        fresh, self._fresh = self._fresh, asyncio.Event()
        fresh.set()

    async def _watch(self) -> None:
        # On while a push waits, and while a tag may still take an image this driver asked
        # for and gave up waiting on: only a take this watcher saw at its cadence confirms
        # the controller's retry without a redraw (`_fetch_unless_taken`).
        while self._waiting > 0 or self._watching_asked():
            try:
                await self.inventory()
            except AccessPointError as error:
                # The waiting pushes wait on; each gives up with a reason at its deadline.
                _log.warning("tag list not read: %s", error)
            fresh, self._fresh = self._fresh, asyncio.Event()
            fresh.set()
            await asyncio.sleep(self.timings.poll_s)

    async def _next_poll(self, timeout_s: float) -> None:
        """Wait for the watcher's next listing, at most `timeout_s`; `WatcherFailedError`
        when the watcher this wait began with failed (before or during the wait)."""
        watcher = self._watcher
        self._raise_if_failed(watcher)
        # `asyncio.timeout`, not `wait_for`: on Python 3.11 `wait_for` loses a cancel that
        # comes as the watcher's poll sets `_fresh` (python/cpython#86296), so a gateway
        # told to stop waited out the confirm timeout of the tag it was waiting for, then
        # carried on and settled the frame, its try counted against it meanwhile.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._fresh.wait()
        self._raise_if_failed(watcher)

    def _raise_if_failed(self, watcher: asyncio.Task[None] | None) -> None:
        if watcher is None or not watcher.done() or watcher.cancelled():
            return
        error = watcher.exception()
        if error is not None:
            raise WatcherFailedError(ap=self.ap, error=error) from error

    # ------------------------------------------------------------ LED and commands

    async def flash_led(self, mac: str, pattern: str) -> None:
        """`pattern`: 24 hex characters, the AP's 12-byte LED pattern."""
        await self.client.led_flash(mac, pattern)

    async def command(self, mac: str, command: TagCommand) -> None:
        """`/tag_cmd`; most take effect at the tag's next check-in."""
        await self.client.tag_command(mac, TagCommand(command).value)
