"""Every command in the README's `sh` code blocks runs as written, so a wrong example
cannot land again.

The blocks run in order, in one throwaway directory (with `examples/` beside it), with no
ESL_* variables from the caller's environment. A line ending in `&` starts a service in
the background: it must come up (print the line it prints when ready) and still be
running when the block ends. The fixed ports of the examples (1883, 8000, 9100) are
replaced by free ones, so the check can run beside anything else on the machine.
Commands that are not run are listed in NOT_RUN with the reason.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures.mosquitto import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
NOT_RUN = {
    "make demo": "creates .venv and installs: the environment this test already runs in "
    "(the `esl demo` line runs the demo itself)",
    "make test": "runs the whole suite, which includes this test",
}
# What each long-running command prints once it serves.
READY = re.compile(r"API on http|embedded broker at mqtt|controller running|connected to mqtt")
PORTS = (1883, 8000, 9100)
STARTUP_S = 60.0


def readme_blocks() -> list[list[str]]:
    """The command lines of every ```sh block, continuation lines joined."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)
    commands = []
    for block in blocks:
        lines = block.replace("\\\n", " ").splitlines()
        commands.append([line.split(" # ")[0].strip() for line in lines if line.strip()])
    return commands


@dataclass
class Sandbox:
    directory: Path
    ports: dict[int, int]
    background: list[tuple[str, subprocess.Popen[str], Path]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ESL_")}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        return env

    def localise(self, command: str) -> str:
        for fixed, free in self.ports.items():
            command = re.sub(rf"\b{fixed}\b", str(free), command)
        return command

    def run(self, command: str) -> None:
        result = subprocess.run(
            ["bash", "-c", self.localise(command)],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, f"{command}\n{result.stderr}"

    def start(self, command: str) -> None:
        log = self.directory / f"background-{len(self.background)}.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                ["bash", "-c", self.localise(command.removesuffix("&").strip())],
                cwd=self.directory,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        self.background.append((command, process, log))
        deadline = time.monotonic() + STARTUP_S
        while not READY.search(log.read_text()):
            assert process.poll() is None, f"{command} exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{command} not ready:\n{log.read_text()}"
            time.sleep(0.1)

    def stop_all(self) -> None:
        for command, process, log in reversed(self.background):
            still_running = process.poll() is None
            if still_running:
                os.killpg(process.pid, signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            assert still_running, f"{command} stopped on its own:\n{log.read_text()}"
        self.background.clear()


def test_the_readme_has_commands_and_every_one_is_run_or_excused() -> None:
    commands = [command for block in readme_blocks() for command in block]
    assert len(commands) >= 20
    for command in commands:
        assert command in NOT_RUN or re.match(r"^([A-Z_]+=\S+ )*esl ", command), command


def test_every_readme_command_runs(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    sandbox = Sandbox(tmp_path, ports={port: free_port() for port in PORTS})
    try:
        for block in readme_blocks():
            for command in block:
                if command in NOT_RUN:
                    continue
                if command.endswith("&"):
                    sandbox.start(command)
                else:
                    sandbox.run(command)
            sandbox.stop_all()
    finally:
        for _, process, _ in sandbox.background:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
