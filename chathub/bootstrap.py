"""Start-up work that must finish before the first request: schema upgrade, the default simulator
channel, the first admin. It runs synchronously (NiceGUI does not await async start-up handlers)."""
from __future__ import annotations

from sqlalchemy import create_engine
from sqlmodel import Session, select

from chathub import db
from chathub.auth import hash_password
from chathub.drivers.simulator import SimulatorDriver
from chathub.models import Agent, AgentRole, Channel, ChannelType
from chathub.settings import Settings


def prepare_database(settings: Settings) -> list[str]:
    """Upgrade the schema and seed what a first start needs; returns lines to tell the operator."""
    db.upgrade_schema(settings.database_url)
    engine = create_engine(db.sync_url(settings.database_url))
    notes = []
    try:
        with Session(engine) as session:
            if session.exec(select(Channel).where(Channel.type == ChannelType.simulator)).first() is None:
                session.add(Channel(type=ChannelType.simulator, name="Simulator",
                                    config=SimulatorDriver.validate_config({})))
                notes.append("Created the default simulator channel (POST /webhooks/simulator).")
            if session.exec(select(Agent)).first() is None:
                notes.append(_first_admin(session, settings))
            session.commit()
    finally:
        engine.dispose()
    return notes


def _first_admin(session: Session, settings: Settings) -> str:
    if not settings.admin_email:
        return ("No agent exists yet. Set CHATHUB_ADMIN_EMAIL and CHATHUB_ADMIN_PASSWORD and restart "
                "to create the first admin.")
    session.add(Agent(email=settings.admin_email.strip().lower(), name="Admin", role=AgentRole.admin,
                      password_hash=hash_password(settings.admin_password)))
    return f"Created the first admin {settings.admin_email}."
