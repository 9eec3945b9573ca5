"""Shared fixtures: a fresh store per test on SQLite and, when configured, on PostgreSQL.

Storage tests take the `database` fixture, which is parametrised over both engines. PostgreSQL
runs when FEDIVERSE_TEST_POSTGRES_URL is set (CI sets it); each test gets its own schema, dropped
afterwards, so tests never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from fediverse.config import Config, config_from_dict

POSTGRES_ENV = "FEDIVERSE_TEST_POSTGRES_URL"
REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass(frozen=True)
class Database:
    """Where one test's store lives: the URL and (on PostgreSQL) its private schema."""

    engine_name: str
    url: str
    schema: str = ""

    def settings(self) -> dict[str, Any]:
        return {"url": self.url, "schema": self.schema}


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def _to_asyncpg(url: str) -> str:
    """Accept postgresql://, postgres:// or postgresql+asyncpg:// in the environment."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"{POSTGRES_ENV} must be a postgresql:// URL, got {url!r}")


KEY_POOL_SIZE = 24


@pytest.fixture(autouse=True, scope="session")
def rsa_key_pool() -> Iterator[None]:
    """Hand local actors keys from a pool made once: generating RSA-2048 costs ~55 ms and the
    suite creates hundreds of actors. Real processes (CLI, e2e) still generate their own."""
    import itertools

    from fediverse.activitypub import keys
    from fediverse.services import actors

    pool = itertools.cycle([keys.generate_rsa_keypair() for _ in range(KEY_POOL_SIZE)])
    original = actors.generate_rsa_keypair
    actors.generate_rsa_keypair = lambda: next(pool)  # type: ignore[assignment]
    yield
    actors.generate_rsa_keypair = original  # type: ignore[assignment]


# For tests whose subject is not storage: run them on SQLite only, to keep the suite fast.
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """Yield an empty store on each engine; PostgreSQL is skipped, with a reason, when absent."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}")
        return
    raw = postgres_url()
    if raw is None:
        pytest.skip(
            f"PostgreSQL tests need {POSTGRES_ENV} (CI sets it; e.g. "
            "postgresql://postgres@127.0.0.1:5432/test)"
        )
    url = _to_asyncpg(raw)
    async for db in new_postgres_database(url):
        yield db


async def new_postgres_database(url: str) -> AsyncIterator[Database]:
    """Yield a Database in a fresh schema, dropping the schema afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield Database("postgresql", url, schema)
    admin = create_async_engine(url)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture
async def net(tmp_path: Path, database: Database) -> AsyncIterator[Any]:
    """Yield an empty fake network (tests/fakenet.py) on the test's database engine."""
    from tests.fakenet import fakenet

    async with fakenet(tmp_path, database) as network:
        yield network


@pytest.fixture
async def local_instance(net: Any) -> Any:
    """An instance at https://a.test with one local person, alice."""
    from fediverse.services.actors import NewUser, create_user

    instance = await net.add_instance("a.test")
    await create_user(instance.ctx, NewUser(username="alice"))
    return instance


@pytest.fixture
def remote_person(net: Any) -> Any:
    """rita, a person on a remote server that is not one of ours, with a real signing key."""
    from tests.remote import make_remote_actor

    return make_remote_actor(net, "https://remote.example/users/rita")


def make_config(
    database: Database,
    *,
    base_url: str = "https://a.test",
    domain: str | None = None,
    **sections: dict[str, Any],
) -> Config:
    """Build an instance config for tests on the given store."""
    host = base_url.split("://", 1)[1]
    data: dict[str, Any] = {
        "instance": {"domain": domain or host, "base_url": base_url, "name": f"Test {host}"},
        "database": database.settings(),
        "workers": {"embedded": False},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return config_from_dict(data, source="<test>")


def load_fixture(relative: str) -> Any:
    import json

    return json.loads((FIXTURES / relative).read_text(encoding="utf-8"))
