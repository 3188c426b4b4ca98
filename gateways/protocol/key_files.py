"""Files that hold label keys on disk, their owner's alone whatever the umask.

The controller's SQLite database (`labels.secret_key`), a store gateway's state file and
the firmware simulator's label store each hold every label key they know: with one,
anyone on the host could sign frames the labels take and answers the controller
believes. Made 0600 in a 0700 folder before SQLite opens them (SQLite creates a file with
the umask's mode, 0644 under the usual 022, and gives its `-wal` and `-shm` files the
database's mode); one made before this rule loses its group's and others' bits when its
owner opens it. Provisioning files, written whole, are created 0600 by
`write_provisioning_file`.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

__all__ = ["keep_key_file_private"]


def keep_key_file_private(path: Path) -> None:
    """`path` (a SQLite file holding label keys) and its `-wal`/`-shm` files readable and
    writable by their owner only, created 0600 if missing, a folder made for it 0700. A
    file of another owner is left as it is (its owner narrows it when it opens it)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass  # there already: narrowed below
    for written in (path, *path.parent.glob(path.name + "-*")):
        with contextlib.suppress(OSError):  # another owner's, or gone meanwhile
            mode = stat.S_IMODE(written.stat().st_mode)
            if mode & 0o077:
                written.chmod(mode & 0o700)
