"""Server-rendered HTML pages shown to browsers."""

from __future__ import annotations

from quart import Blueprint, render_template

from fediverse.services import discovery
from fediverse.store.tables import Actor
from fediverse.web import current_context

blueprint = Blueprint("ui", __name__)


async def actor_page(actor: Actor) -> str:
    """Render the public profile page of a local person or group."""
    ctx = current_context()
    return await render_template(
        "actor.html",
        actor=actor,
        handle=f"@{actor.username}@{ctx.domain}",
        instance_name=ctx.config.instance.name,
    )


@blueprint.get("/")
async def home() -> str:
    ctx = current_context()
    usage = await discovery.instance_usage(ctx)
    return await render_template(
        "index.html", instance_name=ctx.config.instance.name, domain=ctx.domain, usage=usage
    )


async def error_page(status: int, message: str) -> str:
    """Render an error for a browser: what went wrong and what to do next."""
    ctx = current_context()
    return await render_template(
        "error.html", status=status, message=message, instance_name=ctx.config.instance.name
    )
