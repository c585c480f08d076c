"""The `chathub` command (also `python main.py COMMAND`): serving, and what an operator does beside it.

    chathub serve                       serve ChatHub (what `python main.py` does)
    chathub backup PATH [--force]       copy the live database to PATH
    chathub create-admin EMAIL          add an active admin; asks for the password
    chathub check-config                print the effective settings, secrets masked

Each operator command prints one line (check-config one per setting): what it did on stdout, or why it did
not on stderr. Exit codes: 0 done, 1 refused or failed (the target exists, no database, an SQLite error, the
email is taken, a weak or mismatched password), 2 a usage or settings error.

create-admin asks for the password twice on the terminal, not echoed. When its input is no terminal (a
script, a pipe) it reads the password once, from the first line of standard input.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Iterator
from pathlib import Path

from chathub import private_files
from chathub.auth import email_problem, password_problem
from chathub.services.backup import BackupError, backup_database, sqlite_path
from chathub.settings import Settings, SettingsError, load_settings, read_settings, unknown_variables

COMMANDS = ("serve", "backup", "create-admin", "check-config")
SECRET_WORDS = ("secret", "password", "token", "key")  # a setting whose name holds one is never printed
MASK = "********"


class Refused(Exception):
    """The command did not do its work; the message says why, for the operator."""


def main(argv: list[str] | None = None, prog: str = "chathub") -> int:
    args = _parser(prog).parse_args(argv)
    private_files.keep_owner_only()  # before the first file is written: backups hold every customer's words
    try:
        return args.run(args)
    except SettingsError as error:
        print(f"ChatHub {args.command} failed: {error}", file=sys.stderr)
        return 2
    except (Refused, BackupError) as error:
        print(f"ChatHub {args.command} failed: {error}", file=sys.stderr)
        return 1


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="ChatHub, a self-hosted customer inbox. Settings come from CHATHUB_* variables or .env.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(
        commands,
        serve,
        "serve ChatHub on CHATHUB_HOST:CHATHUB_PORT (what `python main.py` does)",
        "Upgrades the database first; stop with Ctrl+C (replies under way are saved).",
    )
    backup_ = _command(commands, backup, "copy the live SQLite database to PATH (consistent while ChatHub runs)")
    backup_.add_argument("path", type=Path, metavar="PATH", help="the file to write, e.g. backups/chathub.db")
    backup_.add_argument("--force", action="store_true", help="overwrite PATH when it exists")
    admin = _command(
        commands,
        create_admin,
        "add an active admin who can sign in at once",
        "Asks for the password twice (not echoed); from a script, pipe it in as the first line of standard input.",
    )
    admin.add_argument("email", metavar="EMAIL", help="the admin's email address, to sign in with")
    admin.add_argument("--name", default="Admin", help="the name other agents see (default: Admin)")
    _command(
        commands,
        check_config,
        "print the effective settings, secrets masked",
        "Exits 2 naming the setting when one is bad, as start-up would refuse it. Changes nothing.",
    )
    return parser


def _command(commands, run, summary: str, epilog: str | None = None) -> argparse.ArgumentParser:
    name = run.__name__.replace("_", "-")
    description = summary[0].upper() + summary[1:] + "."
    command = commands.add_parser(name, help=summary, description=description, epilog=epilog)
    command.set_defaults(run=run)
    return command


def serve(_: argparse.Namespace) -> int:
    from chathub.app import run  # the pages and NiceGUI load only to serve (`--help` stays quick)

    run()
    return 0


def backup(args: argparse.Namespace) -> int:
    settings = read_settings()
    result = backup_database(sqlite_path(settings.database_url), args.path, force=args.force)
    print(f"Backed up {result.source} to {result.target} ({result.size_bytes:,} bytes, integrity ok).")
    return 0


def create_admin(args: argparse.Namespace) -> int:
    email = args.email.strip().lower()
    if problem := email_problem(email):
        raise Refused(problem)
    settings = load_settings()
    _prepare_database(settings)
    asyncio.run(_create_admin(settings, email, args.name))
    print(f"Created the admin {email}: they can sign in now.")
    return 0


def _prepare_database(settings: Settings) -> None:
    """What start-up does before serving: the schema upgraded, the default channel and first admin seeded."""
    from chathub import bootstrap  # loads the models and drivers: only for the commands that need them

    private_files.tighten(settings.data_dir, settings.sqlite_file)
    try:
        bootstrap.prepare_database(settings)
    except Exception as error:
        raise Refused(
            f"the database at {settings.database_url_shown} could not be prepared: {type(error).__name__}: {error}"
        ) from None


async def _create_admin(settings: Settings, email: str, name: str) -> None:
    # the services and NiceGUI (through the bus) load only for the command that writes agents
    from chathub import db
    from chathub.models import AgentRole
    from chathub.schemas import AgentIn
    from chathub.services import agents
    from chathub.services.errors import ServiceError

    async with db.database_only(settings.database_url):
        if any(agent.email == email for agent in await agents.list_agents()):
            raise Refused(f"an agent with the email {email} already exists")
        password = _ask_password(email)
        if problem := password_problem(password):
            raise Refused(problem)
        try:
            await agents.create_agent(AgentIn(email=email, name=name, password=password, role=AgentRole.admin))
        except ServiceError as error:
            raise Refused(str(error)) from None


def _ask_password(email: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    try:
        password = getpass.getpass(f"Password for {email}: ")
        again = getpass.getpass("The same password again: ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        raise Refused("no password given") from None
    if password != again:
        raise Refused("the two passwords differ")
    return password


def check_config(_: argparse.Namespace) -> int:
    for line in unknown_variables():
        print(f"Warning: {line}", file=sys.stderr)
    for name, value in effective_settings(read_settings()):
        print(f"{name}={value}")
    return 0


def effective_settings(settings: Settings) -> Iterator[tuple[str, str]]:
    """Each setting's variable name and the value ChatHub would use, secrets masked."""
    prefix = Settings.model_config["env_prefix"]
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if field == "secret_key" and not value:
            yield f"{prefix}SECRET_KEY", _missing_secret_key_note(settings)
        elif any(word in field for word in SECRET_WORDS):
            yield f"{prefix}{field.upper()}", MASK if value else ""
        elif field == "database_url":
            yield f"{prefix}DATABASE_URL", settings.database_url_shown
        else:
            yield f"{prefix}{field.upper()}", "" if value is None else str(value)


def _missing_secret_key_note(settings: Settings) -> str:
    if not settings.is_sqlite:
        return "(not set: required on PostgreSQL, start-up refuses to run without it)"
    key_file = settings.data_dir / "secret_key"
    if key_file.is_file():
        return f"{MASK} (from {key_file})"
    return f"(none yet: the first start generates one into {key_file})"
