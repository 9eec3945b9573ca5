"""Settings an admin changes while the instance runs (registration mode, invite policy, name,
rules)."""

from __future__ import annotations

from typing import Any

from fediverse.services.context import Context
from fediverse.store import settings as setting_queries


async def get_setting(ctx: Context, key: str, default: Any) -> Any:
    async with ctx.sessions() as session:
        value = await setting_queries.get_value(session, key)
    return default if value is None else value


async def set_setting(ctx: Context, key: str, value: Any) -> None:
    async with ctx.sessions() as session:
        await setting_queries.put_value(session, key, value)
        await session.commit()
