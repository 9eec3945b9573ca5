"""The store: tables, migrations, the engine, and the query modules (one per aggregate).

This package is the only place that builds or runs SQL. Services hand a `Session` (the unit of
work's, see `fediverse.services.work`) to the query functions here and never touch SQLAlchemy
themselves; they annotate with this alias so that they need not import it.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession as Session

__all__ = ["Session"]
