"""Start-up work that must finish before the first request: schema upgrade, the default simulator
channel, the first admin. It runs synchronously (NiceGUI does not await async start-up handlers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlmodel import Session, select

from chathub import db
from chathub.auth import hash_password
from chathub.drivers.simulator import SimulatorDriver
from chathub.models import Agent, AgentRole, Channel, ChannelType
from chathub.services.channels import new_webhook_secret
from chathub.settings import Settings

# pg_advisory_lock's key for start-up: any number no other client of the database uses ("ChatHub" in ASCII).
START_UP_LOCK = 0x43686174487562


def prepare_database(settings: Settings) -> list[str]:
    """Upgrade the schema and seed what a first start needs; returns lines to tell the operator.

    On PostgreSQL several instances may start together on one database: each waits for an advisory lock, so
    one runs the migrations and seeds the first admin and simulator channel, and the others find them done.
    Statement parameters are never shown in errors: a failed insert would print the admin's password hash."""
    engine = create_engine(db.sync_url(settings.database_url), hide_parameters=True)
    try:
        with _start_up_lock(engine):
            db.upgrade_schema(settings.database_url)
            with Session(engine) as session:
                notes = _default_simulator(session, settings)
                if session.exec(select(Agent)).first() is None:
                    notes.append(_first_admin(session, settings))
                session.commit()
    finally:
        engine.dispose()
    return notes


@contextmanager
def _start_up_lock(engine: Engine) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock for start-up on a connection of its own (SQLite: one process, no lock)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": START_UP_LOCK})
        connection.commit()  # the lock is the session's: it outlives this transaction
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": START_UP_LOCK})
            connection.commit()


def _default_simulator(session: Session, settings: Settings) -> list[str]:
    """Create the default simulator channel on a first start. Behind https (a public deployment) it accepts
    only signed posts: it gets a generated secret, also when it already existed without one."""
    public = settings.public_url.startswith("https://")
    channel = session.exec(select(Channel).where(Channel.type == ChannelType.simulator).order_by(Channel.id)).first()
    if channel is None:
        session.add(
            Channel(
                type=ChannelType.simulator,
                name="Simulator",
                config=SimulatorDriver.validate_config({}),
                webhook_secret=new_webhook_secret() if public else None,
            )
        )
        return [
            "Created the default simulator channel (POST /webhooks/simulator)"
            + (", which accepts signed requests only: its secret is on the Channels page." if public else ".")
        ]
    if public and not channel.webhook_secret:
        channel.webhook_secret = new_webhook_secret()
        session.add(channel)
        return [
            f"The default simulator channel ({channel.name}) now accepts signed requests only, as "
            "CHATHUB_PUBLIC_URL is https: its generated secret is on the Channels page."
        ]
    return []


def _first_admin(session: Session, settings: Settings) -> str:
    if not settings.admin_email:
        return (
            "No agent exists yet. Set CHATHUB_ADMIN_EMAIL and CHATHUB_ADMIN_PASSWORD and restart "
            "to create the first admin."
        )
    session.add(
        Agent(
            email=settings.admin_email.strip().lower(),
            name="Admin",
            role=AgentRole.admin,
            password_hash=hash_password(settings.admin_password),
        )
    )
    return f"Created the first admin {settings.admin_email}."
