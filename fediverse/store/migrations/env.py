"""Alembic environment: migrations run on a connection handed over by `store.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from fediverse.store.tables import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations with `fediverse migrate`; it supplies the connection.")
_run(connection)
