"""Alembic environment: runs against the connection `access.db.migrate` passes in (or sqlalchemy.url)."""

from alembic import context
from sqlalchemy import create_engine

from kvalitetsplatform.access.db import metadata

config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as connection:
            _configure(connection)
    else:
        _configure(connection)


def _configure(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


run()
