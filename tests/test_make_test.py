"""`make test` on a machine without the Debian packages the tests run against stops at once
with the one `sudo apt-get install …` line to run, as README.md promises."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_make_test_checks_the_debian_packages_before_lint_and_mypy() -> None:
    """It ran ruff and strict mypy over the whole tree (minutes on a new machine) and
    only then scripts/system-packages."""
    plan = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    check = next(i for i, line in enumerate(plan) if "scripts/system-packages" in line)
    lint = next(i for i, line in enumerate(plan) if "ruff" in line or "mypy" in line)
    assert check < lint, "\n".join(plan)


def test_the_readme_names_every_package_scripts_system_packages_installs() -> None:
    """RabbitMQ (the clustered-broker tests) was installed but left out of the README's
    list of what `make test` installs."""
    script = (ROOT / "scripts" / "system-packages").read_text(encoding="utf-8")
    listed = re.search(r"required=\((.*?)\n\)", script, re.S)
    assert listed is not None
    packages = re.findall(r'^\s*"([a-z0-9.+-]+) ', listed.group(1), re.M)
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    sentence = readme[readme.index("(`scripts/system-packages`:") :].split(")", 1)[0].lower()
    # Each package by the word before its first hyphen: rabbitmq-server is "RabbitMQ".
    assert [p for p in packages if p.split("-")[0] not in sentence] == []
