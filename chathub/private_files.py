"""Everything ChatHub keeps on disk is its owner's alone: the database holds bot tokens and every customer's
words, media holds their files, the browser-session storage says who is signed in.

`keep_owner_only()` sets the process umask before anything is written (new files 0600, new folders 0700), and
`tighten()` narrows what an earlier version, a restored backup or a hand-made folder left readable by others.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

OWNER_ONLY_UMASK = 0o077
FILE_MODE = 0o600
FOLDER_MODE = 0o700


def keep_owner_only() -> None:
    os.umask(OWNER_ONLY_UMASK)


def tighten(data_dir: Path, database_file: Path | None = None) -> None:
    """Owner-only modes for the data folder, everything below it, and the database file with its journals
    (the database may live outside the data folder)."""
    for folder, _, files in os.walk(data_dir):
        _narrow(Path(folder), FOLDER_MODE)
        for name in files:
            _narrow(Path(folder) / name, FILE_MODE)
    if database_file is not None:
        for path in (database_file, *(database_file.with_name(database_file.name + s) for s in ("-wal", "-shm"))):
            _narrow(path, FILE_MODE)


def _narrow(path: Path, mode: int) -> None:
    try:
        current = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(current.st_mode):
        return  # a link's own mode means nothing; what it points at is the operator's choice
    if stat.S_IMODE(current.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(current.st_mode) & mode)
