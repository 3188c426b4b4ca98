"""The emulated access point over HTTP, on the paths and with the answers of a real one.

    async with ServedAccessPoint(ap) as served:
        ...  # served.url is http://127.0.0.1:<port>; the tags check in while it runs

Endpoints: `GET /get_db[?mac=][&pos=]`, `GET /tagtypes/<HH>.json`, `POST /imgupload`
(multipart: `mac`, `dither`, ..., the JPEG last), `GET /current/<MAC>.raw`,
`GET /led_flash?mac=&pattern=`, `POST /tag_cmd`, `POST /save_cfg`, `GET /sysinfo` and the
`/ws` WebSocket (`sys` once, then `tags`, `logMsg`, `errMsg` as they happen).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from firmware_sim.oepl_ap.access_point import EmulatedAccessPoint
from firmware_sim.oepl_ap.tag_types import TAG_TYPES
from gateways.lifecycle import StartedInContext

__all__ = ["ServedAccessPoint", "access_point_app"]


def access_point_app(ap: EmulatedAccessPoint, *, clock: Callable[[], float]) -> Starlette:
    def answer(status: int, body: str) -> Response:
        return PlainTextResponse(body, status_code=status)

    async def get_db(request: Request) -> Response:
        pos = request.query_params.get("pos", "0")
        mac = request.query_params.get("mac")
        return JSONResponse(ap.records(pos=int(pos) if pos.isdigit() else 0, mac=mac))

    async def tag_type(request: Request) -> Response:
        name = str(request.path_params["name"])
        stem = name.removesuffix(".json")
        try:
            spec = TAG_TYPES[int(stem, 16)]
        except (ValueError, KeyError):
            return answer(404, "Not found")
        return JSONResponse(spec)

    async def imgupload(request: Request) -> Response:
        async with request.form() as form:
            mac = form.get("mac")
            image = form.get("image") or form.get("file")
            data = await image.read() if isinstance(image, UploadFile) else b""
            dither = form.get("dither", "1")
        if not isinstance(mac, str):
            return answer(400, "parameters incomplete")
        result = ap.upload(
            mac,
            data,
            dither=int(dither) if isinstance(dither, str) and dither.isdigit() else 1,
            now=clock(),
        )
        return answer(result.status, result.body)

    async def current(request: Request) -> Response:
        name = str(request.path_params["name"])
        raw = ap.current_raw(name.removesuffix(".raw"))
        if raw is None:
            return answer(404, "Not found")
        return Response(raw, media_type="application/octet-stream")

    async def led_flash(request: Request) -> Response:
        params = request.query_params
        result = ap.led_flash(params.get("mac", ""), params.get("pattern", ""))
        return answer(result.status, result.body)

    async def tag_cmd(request: Request) -> Response:
        form = await request.form()
        result = ap.tag_command(str(form.get("mac", "")), str(form.get("cmd", "")), now=clock())
        return answer(result.status, result.body)

    async def save_cfg(request: Request) -> Response:
        form = await request.form()
        fields = {key: str(value) for key, value in form.items() if isinstance(value, str)}
        result = ap.save_config(fields.pop("mac", ""), fields)
        return answer(result.status, result.body)

    async def sysinfo(_request: Request) -> Response:
        return JSONResponse(
            {"alias": "emulated AP", "env": "firmware_sim", "buildversion": "emulated"}
        )

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        unsubscribe = ap.subscribe(queue.put_nowait)
        # The client talks only to close: its receive ends the socket.
        closed = asyncio.create_task(_until_closed(websocket))
        try:
            await websocket.send_text(
                json.dumps({"sys": {"currtime": int(clock()), "recordcount": len(ap.tags)}})
            )
            while not closed.done():
                message = asyncio.create_task(queue.get())
                await asyncio.wait({message, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not message.done():
                    message.cancel()
                    break
                await websocket.send_text(json.dumps(message.result()))
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            unsubscribe()
            closed.cancel()

    return Starlette(
        routes=[
            Route("/get_db", get_db),
            Route("/tagtypes/{name}", tag_type),
            Route("/imgupload", imgupload, methods=["POST"]),
            Route("/current/{name}", current),
            Route("/led_flash", led_flash),
            Route("/tag_cmd", tag_cmd, methods=["POST"]),
            Route("/save_cfg", save_cfg, methods=["POST"]),
            Route("/sysinfo", sysinfo),
            WebSocketRoute("/ws", ws),
        ]
    )


async def _until_closed(websocket: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            await websocket.receive_text()


class ServedAccessPoint(StartedInContext):
    """Serves `ap` on 127.0.0.1 from the running event loop and moves its clock."""

    def __init__(
        self,
        ap: EmulatedAccessPoint,
        *,
        port: int = 0,
        tick_s: float = 0.01,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.ap = ap
        self._clock = clock
        self._tick_s = tick_s
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", port))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            access_point_app(ap, clock=clock),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._server.serve(sockets=[self._socket])),
            asyncio.create_task(self._run_clock()),
        ]
        while not self._server.started:
            if self._tasks[0].done():
                self._tasks[0].result()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        self._server.should_exit = True
        self._tasks[1].cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._socket.close()

    async def _run_clock(self) -> None:
        while True:
            self.ap.advance(now=self._clock())
            await asyncio.sleep(self._tick_s)
