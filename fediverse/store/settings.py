"""Queries on run-time settings (the `instance_settings` table)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fediverse.store.tables import InstanceSetting


async def get_value(session: AsyncSession, key: str) -> Any | None:
    """Return a setting's stored value, or None when it was never set."""
    row = await session.get(InstanceSetting, key)
    return None if row is None else row.value


async def put_value(session: AsyncSession, key: str, value: Any) -> None:
    """Store a setting's value, replacing what was there."""
    row = await session.get(InstanceSetting, key)
    if row is None:
        session.add(InstanceSetting(key=key, value=value))
    else:
        row.value = value
    await session.flush()
