"""Operator commands besides serving: `python main.py backup PATH [--force]`.

Each prints one line: what it did on stdout, or why it did not on stderr. Exit codes: 0 done, 1 refused or
failed (the target exists, no database, SQLite error), 2 a usage or settings error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chathub import private_files
from chathub.services.backup import BackupError, backup_database, sqlite_path
from chathub.settings import SettingsError, load_settings

COMMANDS = ("backup",)


def main(argv: list[str]) -> int:
    """Run the command named by argv[0] (one of COMMANDS)."""
    command, rest = argv[0], argv[1:]
    private_files.keep_owner_only()  # a backup holds every customer's words
    if command == "backup":
        return backup(rest)
    print(f"ChatHub: unknown command {command!r} (known: {', '.join(COMMANDS)})", file=sys.stderr)
    return 2


def backup(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python main.py backup",
        description="Copy the live SQLite database to PATH (consistent while ChatHub runs).",
    )
    parser.add_argument("path", type=Path, help="the file to write, e.g. backups/chathub-2024-02-14.db")
    parser.add_argument("--force", action="store_true", help="overwrite PATH when it exists")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        result = backup_database(sqlite_path(settings.database_url), args.path, force=args.force)
    except SettingsError as error:
        print(f"ChatHub backup failed: {error}", file=sys.stderr)
        return 2
    except BackupError as error:
        print(f"ChatHub backup failed: {error}", file=sys.stderr)
        return 1
    print(f"Backed up {result.source} to {result.target} ({result.size_bytes:,} bytes, integrity ok).")
    return 0
