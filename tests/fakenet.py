"""A federation of several instances in one process, for tests.

Each instance has its own store and its own app. Every instance's outgoing HTTP goes through one
`FakeNetTransport`, which routes a request for another instance's host into that instance's app
through `httpx.ASGITransport`; a request for any other host is answered from recorded fixtures
(`tests/fixtures/remote/<host>/<path>.json`) or with 404. Nothing listens on a port, nothing
sleeps: tests step the workers with `run_once()`.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from quart import Quart

from fediverse.app import build_context, create_app
from fediverse.config import Config, DatabaseSettings
from fediverse.jobs.runner import JobRunner
from fediverse.services.context import Context
from fediverse.store.engine import create_engine
from fediverse.store.migrate import upgrade
from fediverse.web import RUNNER_KEY
from tests.conftest import FIXTURES, Database, make_config, new_postgres_database

REMOTE_FIXTURES = FIXTURES / "remote"


@dataclass
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


class FakeNetTransport(httpx.AsyncBaseTransport):
    """Route requests by host to in-process apps, else to fixture files."""

    def __init__(self, net: FakeNet) -> None:
        self.net = net

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.net.log.append(
            RecordedRequest(request.method, str(request.url), dict(request.headers), body)
        )
        host = request.url.netloc.decode()
        if host in self.net.down_hosts:
            raise httpx.ConnectError(f"{host} is down (fakenet)", request=request)
        if host in self.net.stalled:
            await self.net.wait_for_release(host)
        instance = self.net.instances.get(host)
        if instance is not None:
            transport = httpx.ASGITransport(app=instance.app)  # type: ignore[arg-type]
            return await transport.handle_async_request(request)
        return self._from_fixture(request)

    def _from_fixture(self, request: httpx.Request) -> httpx.Response:
        if request.method != "GET":
            url = str(request.url)
            scripted = self.net.answers.get(url)
            if scripted:
                status, headers, body = scripted.pop(0)
                return httpx.Response(status, headers=headers, content=body, request=request)
            self.net.received.setdefault(url, []).append(request.content)
            return httpx.Response(202, request=request)
        document = self.net.documents.get(str(request.url).split("#", 1)[0])
        if document is not None:
            return httpx.Response(
                200,
                # ASCII-escaped, as most servers send it: a lone surrogate survives as `\ud800`.
                content=json.dumps(document).encode(),
                headers={"Content-Type": "application/activity+json"},
                request=request,
            )
        path = REMOTE_FIXTURES / request.url.host / (request.url.path.strip("/") + ".json")
        if not path.is_file():
            return httpx.Response(404, json={"error": "not found"}, request=request)
        return httpx.Response(
            200,
            content=path.read_bytes(),
            headers={"Content-Type": "application/activity+json"},
            request=request,
        )


@dataclass
class Instance:
    """One instance of ours inside the fake network."""

    host: str
    config: Config
    ctx: Context
    app: Quart
    runner: JobRunner

    @property
    def base_url(self) -> str:
        return self.config.instance.base_url

    def url(self, path: str) -> str:
        return self.base_url + path


@dataclass
class FakeNet:
    tmp_path: Path
    engine_name: str = "sqlite"
    postgres_url: str | None = None
    instances: dict[str, Instance] = field(default_factory=dict)
    down_hosts: set[str] = field(default_factory=set)
    log: list[RecordedRequest] = field(default_factory=list)
    # Documents served for hosts that are not our instances (fake remote servers), by URL.
    documents: dict[str, Any] = field(default_factory=dict)
    # Bodies POSTed to fake remote servers, by URL.
    received: dict[str, list[bytes]] = field(default_factory=dict)
    # Scripted answers of fake remote inboxes, by URL: (status, headers, body), used in order;
    # once used up the inbox accepts (202) and records the body in `received`.
    answers: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    # Hosts that answer nothing until released (a slow server): requests wait on the event.
    stalled: dict[str, asyncio.Event] = field(default_factory=dict)
    # Requests waiting on each stalled host now, and the most that ever waited at once.
    waiting: Counter[str] = field(default_factory=Counter)
    most_waiting: Counter[str] = field(default_factory=Counter)
    _cleanups: list[AsyncIterator[Database]] = field(default_factory=list)

    def transport(self) -> FakeNetTransport:
        return FakeNetTransport(self)

    def stall(self, host: str) -> None:
        """Make every request to `host` hang until `release(host)`."""
        self.stalled[host] = asyncio.Event()

    def release(self, host: str) -> None:
        """Let the requests waiting on `host` (and every later one) through."""
        self.stalled.pop(host).set()

    async def wait_for_release(self, host: str) -> None:
        gate = self.stalled[host]
        self.waiting[host] += 1
        self.most_waiting[host] = max(self.most_waiting[host], self.waiting[host])
        try:
            await gate.wait()
        finally:
            self.waiting[host] -= 1

    async def _new_database(self, host: str) -> Database:
        if self.engine_name == "postgresql":
            assert self.postgres_url is not None
            generator = new_postgres_database(self.postgres_url)
            self._cleanups.append(generator)
            return await anext(generator)
        path = self.tmp_path / (host + ".sqlite3")
        # A copy of a database migrated once per run: migrating each instance costs ~0.2 s.
        shutil.copyfile(await migrated_sqlite_template(), path)
        return Database("sqlite", f"sqlite+aiosqlite:///{path}")

    async def add_instance(self, host: str, **sections: dict[str, Any]) -> Instance:
        """Start an instance at https://HOST with a migrated store."""
        database = await self._new_database(host)
        config = make_config(database, base_url=f"https://{host}", **sections)
        ctx = build_context(config, transport=self.transport(), resolve=public_resolver)
        await upgrade(ctx.engine, schema=config.database.schema)
        from fediverse.services.actors import ensure_instance_actor

        await ensure_instance_actor(ctx)
        app = create_app(config, context=ctx, run_workers=False)
        runner = app.extensions[RUNNER_KEY]
        instance = Instance(host=host, config=config, ctx=ctx, app=app, runner=runner)
        self.instances[host] = instance
        return instance

    async def settle(self, max_rounds: int = 50) -> None:
        """Run every instance's due jobs until the whole network is quiet (no sleeping)."""
        for _ in range(max_rounds):
            done = 0
            for instance in list(self.instances.values()):
                done += await instance.runner.run_until_idle()
            if done == 0:
                return
        raise RuntimeError("the network did not settle")

    def client(self) -> httpx.AsyncClient:
        """Return an HTTP client that reaches every instance, as a remote server would."""
        return httpx.AsyncClient(transport=self.transport())

    async def close(self) -> None:
        for instance in self.instances.values():
            await instance.ctx.close()
        for generator in self._cleanups:
            async for _ in generator:
                pass


_TEMPLATE: list[Path] = []


async def migrated_sqlite_template() -> Path:
    """Return a SQLite file migrated to the newest schema (made once per test run)."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="fediverse-template-"))
        path = folder / "template.sqlite3"
        engine = create_engine(DatabaseSettings(url=f"sqlite+aiosqlite:///{path}", schema=""))
        await upgrade(engine)
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        await engine.dispose()
        _TEMPLATE.append(path)
    return _TEMPLATE[0]


async def public_resolver(host: str, port: int) -> list[str]:
    """Resolve every fake host to a public documentation-free address, so the SSRF guard runs
    for real in federation tests without touching DNS."""
    del host, port
    return ["93.184.215.14"]


@asynccontextmanager
async def fakenet(tmp_path: Path, database: Database) -> AsyncIterator[FakeNet]:
    """Yield an empty fake network whose instances use the same engine as `database`."""
    url = database.url if database.engine_name == "postgresql" else None
    net = FakeNet(tmp_path=tmp_path, engine_name=database.engine_name, postgres_url=url)
    try:
        yield net
    finally:
        await net.close()


def as_json(response: httpx.Response) -> Any:
    return json.loads(response.content)


def host_of(url: str) -> str:
    return urlsplit(url).netloc
