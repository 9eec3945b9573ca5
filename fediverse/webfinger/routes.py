"""Discovery endpoints: WebFinger, host-meta and NodeInfo."""

from __future__ import annotations

from quart import Blueprint, Response, request

from fediverse import __version__
from fediverse.errors import BadRequest, NotFound
from fediverse.services import discovery
from fediverse.uris import (
    HOST_META_ROUTE,
    NODEINFO_DISCOVERY_ROUTE,
    NODEINFO_ROUTE,
    WEBFINGER_ROUTE,
)
from fediverse.web import current_context, json_response
from fediverse.webfinger.jrd import (
    JRD_MEDIA_TYPE,
    AcctResource,
    ResourceError,
    build_actor_jrd,
    build_host_meta,
    parse_resource,
)

blueprint = Blueprint("webfinger", __name__)

NODEINFO_VERSIONS = ("2.0", "2.1")
SOFTWARE_NAME = "fediverse"


def _schema(version: str) -> str:
    return f"http://nodeinfo.diaspora.software/ns/schema/{version}"


@blueprint.get(WEBFINGER_ROUTE)
async def webfinger() -> Response:
    ctx = current_context()
    raw = request.args.get("resource")
    if raw is None:
        raise BadRequest("Missing the resource parameter; ask for ?resource=acct:user@host.")
    try:
        resource = parse_resource(raw)
    except ResourceError as exc:
        raise BadRequest(f"Malformed resource: {exc}.") from None
    if isinstance(resource, AcctResource):
        actor = await discovery.find_local_actor_by_handle(ctx, resource.username, resource.host)
    else:
        actor = await discovery.find_local_actor_by_iri(ctx, resource.url)
    jrd = build_actor_jrd(
        subject=f"acct:{actor.username}@{ctx.domain}",
        actor_iri=actor.uri,
        profile_url=actor.url,
    )
    response = json_response(jrd, content_type=JRD_MEDIA_TYPE)
    # WebFinger is read by browsers-based clients too (RFC 7033 §5).
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@blueprint.get(HOST_META_ROUTE)
async def host_meta() -> Response:
    ctx = current_context()
    return Response(build_host_meta(ctx.uris.base_url), content_type="application/xrd+xml")


@blueprint.get(NODEINFO_DISCOVERY_ROUTE)
async def nodeinfo_links() -> Response:
    ctx = current_context()
    links = [
        {"rel": _schema(version), "href": ctx.uris.absolute(f"/nodeinfo/{version}")}
        for version in NODEINFO_VERSIONS
    ]
    return json_response({"links": links})


@blueprint.get(NODEINFO_ROUTE)
async def nodeinfo(version: str) -> Response:
    if version not in NODEINFO_VERSIONS:
        raise NotFound(f"NodeInfo {version} is not served; try 2.0 or 2.1.")
    ctx = current_context()
    usage = await discovery.instance_usage(ctx)
    software: dict[str, str] = {"name": SOFTWARE_NAME, "version": __version__}
    document = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": await discovery.registrations_open(ctx),
        "usage": {
            "users": {
                "total": usage.users_total,
                "activeMonth": usage.users_active_month,
                "activeHalfyear": usage.users_active_halfyear,
            },
            "localPosts": usage.local_posts,
        },
        "metadata": {"nodeName": ctx.config.instance.name},
    }
    content_type = f'application/json; profile="{_schema(version)}#"'
    return json_response(document, content_type=content_type)
