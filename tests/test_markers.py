"""Markers come from what a test uses, so the fast loop (-m "not browser and not slow") picks the right tests
without anyone marking them: a test asking for `client` or calling running_app() is `app`, a real-browser test
is `browser`, a test starting main.py or the `chathub` command as its own process (itself, through a fixture
or through a helper of its module) is `slow`, and a plain test is none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
OUTBOUND = "tests/services/test_outbound.py"
SETTINGS = "tests/test_settings.py"
KEYBOARD = "tests/e2e/test_keyboard.py"
BUS = "tests/test_bus.py"
CLI = "tests/test_cli.py"  # its tests run the `chathub` command through a helper of the module


EXPECTED = [  # (expression, some tests it selects, some it leaves out)
    (
        "app",
        [
            f"{OUTBOUND}::test_reply_is_stored_pending_then_sent_delivered_and_read",
            f"{OUTBOUND}::test_a_reply_queued_before_a_restart_is_sent_after_it_exactly_once",
        ],
        [f"{BUS}::test_a_message_nobody_shows_is_not_even_built"],
    ),
    (
        "browser",
        [f"{KEYBOARD}::test_keyboard_only_the_agent_opens_the_second_conversation_replies_and_resolves_it"],
        [f"{OUTBOUND}::test_reply_is_stored_pending_then_sent_delivered_and_read"],
    ),
    (
        "slow",
        [
            f"{SETTINGS}::test_without_admin_settings_start_up_log_says_how_to_create_the_first_admin",
            f"{CLI}::test_backup_writes_a_copy_holding_the_admins",
            f"{CLI}::test_an_admin_created_while_chathub_serves_can_sign_in_at_once",
        ],
        [f"{SETTINGS}::test_database_defaults_to_sqlite_under_the_data_dir"],
    ),
    (
        "not browser and not slow",
        [
            f"{BUS}::test_a_message_nobody_shows_is_not_even_built",
            f"{SETTINGS}::test_database_defaults_to_sqlite_under_the_data_dir",
        ],
        [f"{KEYBOARD}::test_keys_typed_into_the_reply_box_stay_there_and_alt_arrows_still_move"],
    ),
]


def test_markers_follow_from_the_fixtures_and_helpers_a_test_uses():
    for expression, included, excluded in EXPECTED:
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-m", expression]
            + [OUTBOUND, SETTINGS, KEYBOARD, BUS, CLI],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        selected = {line for line in result.stdout.splitlines() if "::" in line}

        assert set(included) <= selected, expression
        assert not set(excluded) & selected, expression
