"""Alembic environment: runs migrations on a plain synchronous connection.

Our own column types render as `models.X` (with `from chathub import models` in each version), never as
`chathub.models.X`: NiceGUI's test reset re-imports the `chathub` package object, which then lacks the
submodule attributes, while `from chathub import models` still finds the loaded module."""
from alembic import context
from sqlalchemy import create_engine, pool

from chathub import models  # noqa: F401  (registers the tables)
from sqlmodel import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
                          user_module_prefix="models.")
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          user_module_prefix="models.")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
