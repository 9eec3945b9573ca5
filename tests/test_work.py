"""The unit of work: a request, command or inbox item happens whole or not at all."""

from __future__ import annotations

import pytest

from fediverse.services.work import begin
from fediverse.store import settings as setting_queries
from tests.fakenet import Instance


async def _stored(instance: Instance, key: str) -> object:
    async with begin(instance.ctx) as work:
        return await setting_queries.get_value(work.session, key)


async def test_a_unit_commits_when_it_ends_and_only_then_runs_its_callbacks(
    local_instance: Instance,
) -> None:
    ran: list[str] = []
    async with begin(local_instance.ctx) as work:
        await setting_queries.put_value(work.session, "greeting", "hello")
        work.after_commit(lambda: ran.append("after commit"))
        assert ran == []
    assert ran == ["after commit"]
    assert await _stored(local_instance, "greeting") == "hello"


async def test_a_unit_that_raises_stores_nothing_and_runs_no_callback(
    local_instance: Instance,
) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError, match="half-way"):
        async with begin(local_instance.ctx) as work:
            await setting_queries.put_value(work.session, "greeting", "hello")
            work.after_commit(lambda: ran.append("after commit"))
            raise RuntimeError("failed half-way")
    assert ran == []
    assert await _stored(local_instance, "greeting") is None


async def test_waking_workers_is_asked_once_per_unit(local_instance: Instance) -> None:
    woken: list[int] = []
    ctx = local_instance.ctx
    original = ctx.wake_workers
    ctx.wake_workers = lambda: woken.append(1)
    try:
        async with begin(ctx) as work:
            work.wake_workers()
            work.wake_workers()
            assert woken == []
    finally:
        ctx.wake_workers = original
    assert woken == [1]
