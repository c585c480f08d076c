"""Start ChatHub: `python main.py` (settings from CHATHUB_* environment variables or .env).
`python main.py COMMAND ...` runs a command of `chathub` (chathub/cli.py), e.g. `python main.py backup PATH`."""

import sys

from chathub import cli
from chathub.app import run

if __name__ in {"__main__", "__mp_main__"}:
    if sys.argv[1:2] and sys.argv[1] in cli.COMMANDS:  # under NiceGUI's test harness argv is pytest's
        sys.exit(cli.main(sys.argv[1:], prog="python main.py"))
    run()
