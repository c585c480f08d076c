"""Alembic environment: runs migrations on a plain synchronous connection.

Our own column types render as `models.X` (with `from chathub import models` in each version), never as
`chathub.models.X`: NiceGUI's test reset re-imports the `chathub` package object, which then lacks the
submodule attributes, while `from chathub import models` still finds the loaded module. SQLModel's own
types (AutoString) keep their full path, `sqlmodel.sql.sqltypes.X`: the prefix would send them to `models`."""

from alembic import context
from sqlalchemy import create_engine, pool
from sqlmodel import SQLModel

from chathub import models  # noqa: F401  (registers the tables)

config = context.config
target_metadata = SQLModel.metadata


def _include_name(name, type_, parent_names) -> bool:
    """Autogenerate compares only what the models declare: the message search indexes (SQLite's FTS5 table and
    its shadow tables, migration 0004; PostgreSQL's GIN index, 0011) are not models, and must not come back as
    `drop_table` or `drop_index`."""
    return not (type_ == "table" and name.startswith("message_fts") or type_ == "index" and name == "ix_message_search")


OPTIONS = dict(
    target_metadata=target_metadata, render_as_batch=True, user_module_prefix="models.", include_name=_include_name
)


def _render_item(kind: str, obj, autogen_context):
    """How autogenerate writes a column type; False means Alembic's default."""
    if kind == "type" and type(obj).__module__.startswith("sqlmodel."):
        autogen_context.imports.add("import sqlmodel")
        return f"{type(obj).__module__}.{obj!r}"
    return False


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, render_item=_render_item, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, render_item=_render_item, **OPTIONS)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
