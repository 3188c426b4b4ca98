"""The emulated OpenEPaperLink AP for tests: fast timings, tag addresses and hardware types,
random test images and frames that draw them, a wait on the event loop the AP runs on,
and the check-ins a store gateway's health polls left waiting to go."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import numpy as np

from firmware_sim.oepl_ap.access_point import AccessPointConfig, EmulatedAccessPoint
from gateways.oepl import AccessPointClient
from gateways.protocol import LabelFrame, build_image_update, encode_frame
from gateways.store_gateway.local_state import LocalState
from rendering.display_models import get_display_model
from rendering.encoding import Planes

# Check-ins every 50 ms instead of 40 s, the radio at 2 MB/s instead of 5 kB/s: the same
# behaviour, a thousand times faster.
FAST_AP = AccessPointConfig(
    check_in_interval_s=0.05, radio_bytes_per_s=2_000_000, upload_processing_s=0.01, page_size=3
)
HW_29_BWR = 0xB3
HW_29_BW = 0xB2
HW_27_BWR = 0xBE  # no display model of ours


def tag_mac(number: int) -> str:
    return f"00000258{number:08X}"


def price_planes(model_id: str = "2.9-bwr", *, seed: int = 1) -> Planes:
    """Random 3-pixel cells of black, white and the accent, different per seed: harder
    for a lossy image path than any label (edges everywhere, off the JPEG block grid)."""
    model = get_display_model(model_id)
    rng = np.random.default_rng(seed)
    shape = (model.height // 3 + 1, model.width // 3 + 1)
    cells = rng.integers(0, 3 if model.has_accent else 2, size=shape)
    indices = np.kron(cells, np.ones((3, 3), dtype=np.int64))[: model.height, : model.width]
    black = np.packbits(indices == 1, axis=1).tobytes()
    accent = np.packbits(indices == 2, axis=1).tobytes() if model.has_accent else None
    return Planes(width=model.width, height=model.height, black=black, accent=accent)


def image_frame(label_id: str, sequence: int, *, key: bytes, seed: int) -> bytes:
    """A signed frame drawing `price_planes(seed=seed)` on a 2.9" BWR tag."""
    update = build_image_update(price_planes(seed=seed), model_id="2.9-bwr")
    return encode_frame(LabelFrame(label_id, sequence, update), key=key)


@asynccontextmanager
async def client_of_an_ap_answering(body: bytes) -> AsyncIterator[AccessPointClient]:
    """A client of an AP gone wrong, as the emulator never is: a server on the loopback
    answering every request with 200, `body` as JSON, and the connection closed."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}"
        writer.write(head.encode() + b"\r\nConnection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = AccessPointClient(f"http://127.0.0.1:{port}")
    try:
        yield client
    finally:
        await client.close()
        server.close()
        await server.wait_closed()


@contextmanager
def access_point_in_thread(ap: EmulatedAccessPoint) -> Iterator[str]:
    """Serve `ap` from its own loop in a thread (for code that runs its own loop, such as
    a CLI command); yields the URL. Read the AP's state only once a wait says it is due."""
    from firmware_sim.oepl_ap.http_app import ServedAccessPoint

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    served = ServedAccessPoint(ap)
    asyncio.run_coroutine_threadsafe(served.start(), loop).result(60)
    try:
        yield served.url
    finally:
        asyncio.run_coroutine_threadsafe(served.stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


def take_check_ins(state: LocalState) -> list[bytes]:
    """The check-ins waiting in a store gateway's state (one never started: nothing
    publishes them), taken as its broker link takes them: what the health polls since
    the last take signed, each label's newest, in their order."""
    waiting = state.check_ins()
    state.delivered(answers=(), check_ins=waiting)
    return [check_in for _, check_in in waiting]
