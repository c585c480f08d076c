"""Start ChatHub: `python main.py` (settings from CHATHUB_* environment variables or .env).
`python main.py backup PATH [--force]` copies the live database instead (see README, Backups)."""

import sys

from chathub.app import run

if __name__ in {"__main__", "__mp_main__"}:
    if sys.argv[1:2] == ["backup"]:
        from chathub import cli

        sys.exit(cli.main(sys.argv[1:]))
    run()
