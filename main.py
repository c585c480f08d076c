"""Start ChatHub: `python main.py` (settings from CHATHUB_* environment variables or .env)."""
from chathub.app import run

if __name__ in {"__main__", "__mp_main__"}:
    run()
