"""The composition root: `create_app(config)` builds the store, services and routes."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
from quart import Quart, Response, has_request_context, has_websocket_context, request, websocket
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.routing.exceptions import WebsocketMismatch

from fediverse import __version__
from fediverse.activitypub.client import ClientSettings, FederationClient
from fediverse.activitypub.netguard import Resolver
from fediverse.api import blueprint as api_blueprint
from fediverse.config import Config
from fediverse.errors import BadRequest, FediverseError, PayloadTooLarge, ServiceUnavailable
from fediverse.inbox.handlers import build_registry
from fediverse.inbox.job import InboxJob
from fediverse.inbox.routes import blueprint as inbox_blueprint
from fediverse.jobs.runner import JobRunner
from fediverse.logs import install_printable_records
from fediverse.outbox.delivery import DeliveryJob
from fediverse.outbox.routes import blueprint as outbox_blueprint
from fediverse.services import follows
from fediverse.services.actors import ensure_instance_actor
from fediverse.services.context import Context
from fediverse.services.rate_limits import RateLimiter
from fediverse.store.engine import create_engine, create_sessionmaker, is_contention
from fediverse.ui import pages
from fediverse.ui.pages import blueprint as ui_blueprint
from fediverse.uris import Uris
from fediverse.web import (
    CONTEXT_KEY,
    RUNNER_KEY,
    client_wants_json,
    json_response,
    limit_address,
)
from fediverse.webfinger.routes import blueprint as webfinger_blueprint

log = logging.getLogger(__name__)

UI_DIR = Path(__file__).parent / "ui"

# Everything the pages need is served by the instance itself; nothing inline, nothing external.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' https: data:; media-src 'self' https:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def build_context(
    config: Config,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    resolve: Resolver | None = None,
) -> Context:
    """Build the store, the HTTP client and the settings every service shares.

    `transport` and `resolve` let the test harness route HTTP between in-process instances.
    """
    engine = create_engine(config.database)
    federation = config.federation
    settings = ClientSettings(
        user_agent=f"fediverse/{__version__} (+{config.instance.base_url}/)",
        allow_private_addresses=federation.allow_private_addresses,
        max_response_bytes=federation.max_fetch_bytes,
        timeout_seconds=federation.fetch_timeout_seconds,
        pool_connections=config.delivery.max_in_flight,
        fetches_per_host=federation.max_fetches_per_host,
    )
    holder: list[Context] = []
    http = FederationClient(
        settings, lambda: holder[0].instance_signing_key(), transport=transport, resolve=resolve
    )
    ctx = Context(
        config=config,
        uris=Uris(config.instance.base_url),
        engine=engine,
        sessions=create_sessionmaker(engine),
        http=http,
        limiter=RateLimiter(
            config.rate_limits, namespace=config.instance.domain, source=config.source
        ),
    )
    holder.append(ctx)
    return ctx


def build_runner(ctx: Context, *, worker_id: str | None = None) -> JobRunner:
    """Build the job runner with every kind of background work registered."""
    workers = ctx.config.workers
    runner = JobRunner(
        ctx.sessions,
        dialect=ctx.engine.dialect.name,
        batch_size=workers.batch_size,
        lease=timedelta(seconds=workers.lease_seconds),
        poll_interval=workers.poll_interval_seconds,
        worker_id=worker_id,
    )
    runner.register(InboxJob(ctx, build_registry()))
    runner.register(
        DeliveryJob(
            ctx.sessions,
            ctx.http,
            retry_horizon=timedelta(hours=ctx.config.delivery.retry_horizon_hours),
            per_host_limit=ctx.config.delivery.per_host_limit,
            on_gone=partial(follows.prune_inbox, ctx),
        )
    )
    ctx.wake_workers = runner.wake
    return runner


def create_app(
    config: Config, *, context: Context | None = None, run_workers: bool | None = None
) -> Quart:
    """Build the web application for one instance.

    `run_workers` (default: `[workers] embedded`) runs the job runner inside the web process.
    """
    install_printable_records()
    ctx = context or build_context(config)
    runner = build_runner(ctx)
    embedded = config.workers.embedded if run_workers is None else run_workers
    app = Quart(
        __name__,
        template_folder=str(UI_DIR / "templates"),
        static_folder=str(UI_DIR / "static"),
        static_url_path="/static",
    )
    # Quart fixes a body limit when it builds the request: make it what image uploads need, and
    # hold every other route to [server] max_request_bytes in `_limit_request_size`.
    app.config["MAX_CONTENT_LENGTH"] = max(
        config.server.max_request_bytes, config.media.max_upload_bytes + UPLOAD_FORM_OVERHEAD
    )
    app.extensions[CONTEXT_KEY] = ctx
    app.extensions[RUNNER_KEY] = runner

    app.register_blueprint(webfinger_blueprint)
    app.register_blueprint(inbox_blueprint)
    app.register_blueprint(outbox_blueprint)
    app.register_blueprint(ui_blueprint)
    app.register_blueprint(api_blueprint)
    _install_error_handlers(app)
    _install_security_headers(app)
    _limit_request_size(app, config)
    _limit_request_rate(app, ctx)
    _refuse_nul_in_addresses(app)

    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    @app.before_serving
    async def start() -> None:
        await ensure_instance_actor(ctx)
        if embedded:
            tasks.append(asyncio.create_task(runner.run_forever(stop)))

    @app.after_serving
    async def shut_down() -> None:
        stop.set()
        for task in tasks:
            await task
        await ctx.close()

    return app


STORE_BUSY_MESSAGE = (
    "The server is busy saving something else; nothing of this request was saved. "
    "Try again in a few seconds."
)
STORE_BUSY_RETRY_AFTER_SECONDS = 5


def _answering() -> tuple[str, str]:
    """Return (method, path) of what is being answered: an HTTP request or a websocket (which
    has no request context), so no error handler assumes one."""
    if has_request_context():
        return request.method, request.path
    if has_websocket_context():
        return "WEBSOCKET", websocket.path
    return "", ""


def _install_error_handlers(app: Quart) -> None:
    async def render(status: int, message: str) -> Response:
        # A refused websocket handshake is answered in JSON: there is no page to show.
        if not has_request_context() or client_wants_json():
            return json_response({"error": message}, status=status)
        return Response(
            await pages.error_page(status, message),
            status=status,
            content_type="text/html; charset=utf-8",
        )

    @app.errorhandler(FediverseError)
    async def handle_ours(error: FediverseError) -> Response:
        response = await render(error.status, error.message)
        response.headers.update(error.headers())
        return response

    @app.errorhandler(HTTPException)
    async def handle_http(error: HTTPException) -> Response:
        status = error.code or 500
        method, path = _answering()
        if isinstance(error, WebsocketMismatch):
            kind = "a websocket" if has_websocket_context() else "a plain HTTP request"
            return await render(status, f"{path} does not take {kind}.")
        messages = {
            404: f"Nothing is at {path}.",
            405: f"{method} is not allowed on {path}.",
            413: "The request body is too large.",
        }
        return await render(status, messages.get(status, error.description or "Request failed."))

    @app.errorhandler(Exception)
    async def handle_unexpected(error: Exception) -> Response:
        method, path = _answering()
        log.exception("unhandled error", extra={"path": path, "method": method})
        return await render(500, FediverseError.default_message)

    async def handle_store_error(error: Exception) -> Response:
        """Answer 503 when another writer held the store too long: the request's transaction
        was rolled back whole, so the client may simply send it again."""
        if not is_contention(error):
            return await handle_unexpected(error)
        method, path = _answering()
        log.warning(
            "store busy; answered 503",
            extra={"path": path, "method": method, "reason": str(error).splitlines()[0]},
        )
        busy = ServiceUnavailable(STORE_BUSY_MESSAGE, retry_after=STORE_BUSY_RETRY_AFTER_SECONDS)
        return await handle_ours(busy)

    app.register_error_handler(DBAPIError, handle_store_error)
    app.register_error_handler(PoolTimeoutError, handle_store_error)


# Room for the other fields and the multipart framing around an uploaded image.
UPLOAD_FORM_OVERHEAD = 256 * 1024
UPLOAD_PATHS = frozenset({"/settings/profile"})


def _limit_request_size(app: Quart, config: Config) -> None:
    @app.before_request
    async def refuse_large_bodies() -> None:
        length = request.content_length
        if (
            length is not None
            and length > config.server.max_request_bytes
            and request.path not in UPLOAD_PATHS
        ):
            raise PayloadTooLarge(
                f"The request body is {length:,} bytes; at most "
                f"{config.server.max_request_bytes:,} are accepted here."
            )


# These blueprints count their requests against limits of their own (api/auth.py, inbox/routes.py).
OWN_RATE_LIMITS = frozenset({"api", "inbox"})


def _limit_request_rate(app: Quart, ctx: Context) -> None:
    @app.before_request
    async def count_request() -> None:
        """Hold every request that no stricter limit counts to `requests_per_address`."""
        if request.endpoint == "static" or OWN_RATE_LIMITS.intersection(request.blueprints):
            return
        await limit_address(ctx.limiter.requests_per_address)


def _refuse_nul_in_addresses(app: Quart) -> None:
    @app.before_request
    async def refuse_nul() -> None:
        # A NUL (%00) in a path or query parameter reaches the store as a name to look up, and
        # PostgreSQL refuses NUL in text: refuse it here, for every route, instead of a 500.
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value for key, value in request.args.items(multi=True)
        ):
            raise BadRequest("The address contains a NUL character (%00); remove it.")


def _install_security_headers(app: Quart) -> None:
    @app.after_request
    async def add_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if (response.mimetype or "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            response.headers.setdefault("X-Frame-Options", "DENY")
        return response
