"""Settings an admin changes while the instance runs (registration mode, invite policy, name,
rules)."""

from __future__ import annotations

from typing import Any

from fediverse.services.context import Context
from fediverse.store.tables import InstanceSetting


async def get_setting(ctx: Context, key: str, default: Any) -> Any:
    async with ctx.sessions() as session:
        row = await session.get(InstanceSetting, key)
    return default if row is None else row.value


async def set_setting(ctx: Context, key: str, value: Any) -> None:
    async with ctx.sessions() as session:
        row = await session.get(InstanceSetting, key)
        if row is None:
            session.add(InstanceSetting(key=key, value=value))
        else:
            row.value = value
        await session.commit()
