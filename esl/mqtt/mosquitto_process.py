"""Run a throwaway Mosquitto on a free loopback port (benchmarks, local trials).

Production runs Mosquitto as a system service with `esl mqtt config`'s files; this is for
measuring against the real broker from one command.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from esl.mqtt.errors import EmbeddedBrokerError
from gateways.mqtt.endpoint import BrokerEndpoint

__all__ = ["find_mosquitto", "mosquitto_version", "running_mosquitto"]

_STARTUP_TIMEOUT_S = 10.0


def find_mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


def mosquitto_version(binary: str) -> str:
    """'mosquitto 2.0.11', read from `mosquitto -h` (which exits non-zero on purpose)."""
    out = subprocess.run([binary, "-h"], capture_output=True, text=True, check=False)
    first = (out.stdout or out.stderr).splitlines()[:1]
    parts = first[0].split() if first else []
    return " ".join(parts[:3:2]) if len(parts) >= 3 else "mosquitto"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_mosquitto(binary: str, *, extra_config: str = "") -> Iterator[BrokerEndpoint]:
    """Start `binary` with anonymous access on 127.0.0.1 and stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="esl-mosquitto-") as tmp:
        port = _free_port()
        conf = Path(tmp) / "mosquitto.conf"
        log = Path(tmp) / "mosquitto.log"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            f"log_dest file {log}\n{extra_config}\n",
            encoding="utf-8",
        )
        # Running as root, Mosquitto drops to user "mosquitto", which cannot write the
        # private temporary directory; a throwaway broker may stay root instead.
        if os.geteuid() == 0:
            conf.write_text(conf.read_text() + "user root\n", encoding="utf-8")
        process = subprocess.Popen(
            [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_for_port(port, process, log)
            yield BrokerEndpoint(host="127.0.0.1", port=port)
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = log.read_text() if log.exists() else ""
            raise EmbeddedBrokerError(reason=f"mosquitto exited with {process.returncode}: {text}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise EmbeddedBrokerError(reason=f"mosquitto did not listen on port {port}")
