"""Test the signed, SSRF-guarded federation HTTP client against in-process fake remotes."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from fediverse.activitypub.client import (
    ACTIVITY_ACCEPT,
    ACTIVITY_CONTENT_TYPE,
    JRD_ACCEPT,
    BlockedAddressError,
    ClientSettings,
    ConnectFetchError,
    FederationClient,
    FetchError,
    HostBusyError,
    IdMismatchError,
    NotJSONError,
    RemoteStatusError,
    ResponseTooLargeError,
    TimeoutFetchError,
    TooManyRedirectsError,
    is_transient,
)
from fediverse.activitypub.keys import generate_rsa_keypair, load_private_key
from fediverse.activitypub.netguard import ResolutionCache, check_url
from fediverse.activitypub.signatures import (
    ResolvedKey,
    SigningKey,
    VerifiedSignature,
    verify_request,
)

Route = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]

PUBLIC_IP = "93.184.216.34"
INSTANCE_KEY_ID = "https://a.example/actor#main-key"
AUTHOR_KEY_ID = "https://a.example/users/alice#main-key"


class FakeRemote:
    """Serve canned responses by exact URL and record every request the client sends."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[httpx.Request] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get(str(request.url))
        if route is None:
            return httpx.Response(404, text="not found")
        result = route(request)
        return await result if inspect.isawaitable(result) else result

    def serve(self, url: str, document: dict[str, Any], **kwargs: Any) -> None:
        self.routes[url] = lambda _request: activity_response(document, **kwargs)


def activity_response(
    document: dict[str, Any], status: int = 200, content_type: str = ACTIVITY_CONTENT_TYPE
) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(document).encode(), headers={"Content-Type": content_type}
    )


def redirect(location: str, status: int = 302) -> Route:
    return lambda _request: httpx.Response(status, headers={"Location": location})


async def public_dns(host: str, port: int) -> list[str]:
    """Resolve every name to one public address, like the internet would for real hosts."""
    return [PUBLIC_IP]


@pytest.fixture(scope="module")
def instance_key() -> SigningKey:
    pair = generate_rsa_keypair()
    return SigningKey(INSTANCE_KEY_ID, load_private_key(pair.private_pem))


@pytest.fixture(scope="module")
def author_key() -> SigningKey:
    pair = generate_rsa_keypair()
    return SigningKey(AUTHOR_KEY_ID, load_private_key(pair.private_pem))


@pytest.fixture
def remote() -> FakeRemote:
    return FakeRemote()


ClientFactory = Callable[..., FederationClient]


@pytest.fixture
async def make_client(remote: FakeRemote, instance_key: SigningKey) -> AsyncIterator[ClientFactory]:
    clients: list[FederationClient] = []

    def factory(resolve: Any = public_dns, **settings: Any) -> FederationClient:
        client = FederationClient(
            ClientSettings(user_agent="fediverse/0.1.0 (+https://a.example/)", **settings),
            instance_key,
            transport=httpx.MockTransport(remote.handle),
            resolve=resolve,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> FederationClient:
    return make_client()


def key_resolver(*keys: SigningKey) -> Callable[[str, bool], Awaitable[ResolvedKey | None]]:
    by_id = {key.key_id: key for key in keys}

    async def resolve(key_id: str, refresh: bool) -> ResolvedKey | None:
        key = by_id.get(key_id)
        if key is None:
            return None
        return ResolvedKey(key_id, key_id.split("#")[0], key.private_key.public_key())

    return resolve


async def verify(request: httpx.Request, *keys: SigningKey) -> VerifiedSignature:
    body = request.content if request.method == "POST" else None
    return await verify_request(
        request.method, str(request.url), request.headers, body, key_resolver(*keys)
    )


# Signing and headers


async def test_signed_get_carries_a_signature_that_verifies(
    client: FederationClient, remote: FakeRemote, instance_key: SigningKey
) -> None:
    remote.serve("https://b.example/users/bob", {"id": "https://b.example/users/bob"})

    document = await client.fetch_json("https://b.example/users/bob")

    assert document == {"id": "https://b.example/users/bob"}
    (request,) = remote.requests
    verified = await verify(request, instance_key)
    assert (verified.key_id, verified.scheme) == (INSTANCE_KEY_ID, "cavage")
    assert request.headers["Accept"] == ACTIVITY_ACCEPT
    assert request.headers["User-Agent"] == "fediverse/0.1.0 (+https://a.example/)"


async def test_unsigned_document_fetch_sends_jrd_accept_and_no_signature(
    client: FederationClient, remote: FakeRemote
) -> None:
    url = "https://b.example/.well-known/webfinger?resource=acct:bob@b.example"
    remote.routes[url] = lambda _r: httpx.Response(200, json={"subject": "acct:bob@b.example"})

    document = await client.fetch_document(url, sign=False)

    assert document.status == 200
    assert document.final_url == url
    assert document.json() == {"subject": "acct:bob@b.example"}
    (request,) = remote.requests
    assert request.headers["Accept"] == JRD_ACCEPT
    assert "signature" not in request.headers
    assert "signature-input" not in request.headers


async def test_ed25519_keys_sign_inline_and_verify(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    key = SigningKey("https://a.example/actor#ed25519-key", ed25519.Ed25519PrivateKey.generate())
    remote.routes["https://b.example/inbox"] = lambda _r: httpx.Response(202)

    result = await make_client().post_activity("https://b.example/inbox", b"{}", key)

    assert result.status == 202
    assert (await verify(remote.requests[0], key)).key_id == key.key_id


# Address guard: every one of these is refused before a request leaves


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://10.0.0.5/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:10.0.0.1]/",
        "http://100.64.0.1/",
        "http://2130706433/",
        "http://[fec0::1]/",
        "http://0.0.0.0/",
        "http://internal.example/",
        "file:///etc/passwd",
        "http://user:pass@host/",
        "ftp://b.example/",
    ],
)
async def test_refuses_blocked_urls_before_sending(
    make_client: ClientFactory, remote: FakeRemote, instance_key: SigningKey, url: str
) -> None:
    async def dns(host: str, port: int) -> list[str]:
        return ["10.0.0.1"] if host == "internal.example" else [PUBLIC_IP]

    client = make_client(resolve=dns)
    with pytest.raises(BlockedAddressError):
        await client.fetch_json(url)
    result = await client.post_activity(url, b"{}", instance_key)

    assert (result.status, result.error_kind) == (None, "blocked")
    assert result.error
    assert remote.requests == []


async def test_refuses_a_host_with_any_private_address_among_its_answers() -> None:
    async def dns(host: str, port: int) -> list[str]:
        return [PUBLIC_IP, "2001:db8::1", "192.168.1.1"]

    with pytest.raises(BlockedAddressError, match=r"192\.168\.1\.1|2001:db8::1"):
        await check_url("https://mixed.example/", allow_private=False, resolve=dns)


async def test_refuses_a_public_host_that_redirects_to_a_private_one(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    async def dns(host: str, port: int) -> list[str]:
        return ["10.0.0.1"] if host == "internal.example" else [PUBLIC_IP]

    remote.routes["https://b.example/a"] = redirect("http://10.0.0.1/admin")
    remote.routes["https://b.example/b"] = redirect("https://internal.example/admin")
    client = make_client(resolve=dns)

    for url in ("https://b.example/a", "https://b.example/b"):
        with pytest.raises(BlockedAddressError):
            await client.fetch_json(url)

    assert [str(r.url) for r in remote.requests] == ["https://b.example/a", "https://b.example/b"]


async def test_refuses_a_connection_that_landed_on_a_private_address(
    client: FederationClient, remote: FakeRemote
) -> None:
    class ReboundStream:
        def get_extra_info(self, name: str) -> Any:
            return ("127.0.0.1", 443) if name == "server_addr" else None

    remote.routes["https://rebind.example/x"] = lambda _r: httpx.Response(
        200, json={"id": "https://rebind.example/x"}, extensions={"network_stream": ReboundStream()}
    )

    with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1"):
        await client.fetch_json("https://rebind.example/x")


async def test_allow_private_addresses_permits_loopback_without_resolving(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    async def no_dns(host: str, port: int) -> list[str]:
        raise AssertionError("allow_private_addresses must not resolve names")

    client = make_client(resolve=no_dns, allow_private_addresses=True)
    remote.serve("http://127.0.0.1:8000/actor", {"id": "http://127.0.0.1:8000/actor"})
    remote.serve("http://b.test/actor", {"id": "http://b.test/actor"})

    assert await client.fetch_json("http://127.0.0.1:8000/actor")
    assert await client.fetch_json("http://b.test/actor")
    with pytest.raises(BlockedAddressError):
        await client.fetch_json("file:///etc/passwd")


async def test_caches_vetted_resolutions(make_client: ClientFactory, remote: FakeRemote) -> None:
    lookups: list[str] = []

    async def dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return [PUBLIC_IP]

    client = make_client(resolve=dns)
    remote.serve("https://b.example/x", {"id": "https://b.example/x"})
    await client.fetch_json("https://b.example/x")
    await client.fetch_json("https://b.example/x")

    assert lookups == ["b.example"]


def test_resolution_cache_expires_and_stays_bounded() -> None:
    now = [0.0]
    cache = ResolutionCache(ttl_seconds=60, max_entries=2, clock=lambda: now[0])
    cache.remember("a.example", 443)
    cache.remember("b.example", 443)
    cache.remember("c.example", 443)

    assert not cache.is_fresh("a.example", 443)
    assert cache.is_fresh("c.example", 443)
    now[0] = 61.0
    assert not cache.is_fresh("c.example", 443)


# Size, content type, redirects and deadlines


async def test_refuses_oversized_bodies_with_and_without_content_length(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while True:
            chunks_sent += 1
            yield b"x" * 1024

    remote.routes["https://b.example/declared"] = lambda _r: httpx.Response(
        200, content=b"x" * 5000, headers={"Content-Type": ACTIVITY_CONTENT_TYPE}
    )
    remote.routes["https://b.example/streamed"] = lambda _r: httpx.Response(
        200, content=endless(), headers={"Content-Type": ACTIVITY_CONTENT_TYPE}
    )
    client = make_client(max_response_bytes=4096)

    with pytest.raises(ResponseTooLargeError):
        await client.fetch_json("https://b.example/declared")
    with pytest.raises(ResponseTooLargeError):
        await client.fetch_json("https://b.example/streamed")
    assert "content-length" not in remote.requests[1].headers
    assert chunks_sent <= 6  # it stopped reading, it did not buffer the endless body


async def test_refuses_html_and_non_object_json(
    client: FederationClient, remote: FakeRemote
) -> None:
    remote.routes["https://b.example/page"] = lambda _r: httpx.Response(
        200, text="<html></html>", headers={"Content-Type": "text/html; charset=utf-8"}
    )
    remote.routes["https://b.example/list"] = lambda _r: httpx.Response(
        200, content=b"[1, 2]", headers={"Content-Type": "application/ld+json"}
    )
    remote.routes["https://b.example/broken"] = lambda _r: httpx.Response(
        200, content=b"{not json", headers={"Content-Type": "application/json"}
    )

    with pytest.raises(NotJSONError, match="HTML"):
        await client.fetch_json("https://b.example/page")
    for url in ("https://b.example/list", "https://b.example/broken"):
        with pytest.raises(NotJSONError):
            await client.fetch_json(url)


async def test_non_2xx_raises_remote_status_error(
    client: FederationClient, remote: FakeRemote
) -> None:
    remote.routes["https://b.example/gone"] = lambda _r: httpx.Response(410)

    with pytest.raises(RemoteStatusError) as caught:
        await client.fetch_json("https://b.example/gone")

    assert caught.value.status == 410
    assert "https://b.example/gone" in caught.value.reason


async def test_follows_redirects_up_to_the_limit(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    for hop in range(4):
        remote.routes[f"https://b.example/r{hop}"] = redirect(f"/r{hop + 1}", 301 + hop % 2)
    remote.serve("https://b.example/r4", {"id": "https://b.example/r4"})
    remote.serve("https://b.example/r3-ok", {"id": "https://b.example/r3-ok"})

    with pytest.raises(TooManyRedirectsError):
        await make_client(max_redirects=3).fetch_json("https://b.example/r0")
    assert len(remote.requests) == 4  # the fifth hop is never requested
    document = await make_client(max_redirects=4).fetch_document("https://b.example/r0")
    assert document.final_url == "https://b.example/r4"


async def test_refuses_a_redirect_from_https_to_http(
    client: FederationClient, remote: FakeRemote
) -> None:
    remote.routes["https://b.example/x"] = redirect("http://b.example/x")

    with pytest.raises(BlockedAddressError, match="downgrade"):
        await client.fetch_json("https://b.example/x")


async def test_enforces_one_deadline_not_just_per_read_timeouts(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(50):  # each read is quick, the whole body is not
            await asyncio.sleep(0.01)
            yield b" "

    remote.routes["https://slow.example/x"] = lambda _r: httpx.Response(
        200, content=trickle(), headers={"Content-Type": ACTIVITY_CONTENT_TYPE}
    )

    with pytest.raises(TimeoutFetchError):
        await make_client(timeout_seconds=0.1).fetch_json("https://slow.example/x")


async def test_wraps_transport_errors(make_client: ClientFactory, remote: FakeRemote) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def failing_dns(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    remote.routes["https://down.example/x"] = refuse

    with pytest.raises(ConnectFetchError):
        await make_client().fetch_json("https://down.example/x")
    with pytest.raises(ConnectFetchError):
        await make_client(resolve=failing_dns).fetch_json("https://nowhere.example/x")
    assert issubclass(ConnectFetchError, FetchError)


# The document id must be where it was fetched from


async def test_accepts_an_id_equal_to_the_final_url_after_trivial_normalisation(
    client: FederationClient, remote: FakeRemote
) -> None:
    remote.serve("https://b.example/users/bob", {"id": "https://B.example:443/users/bob"})
    remote.routes["https://b.example/@bob"] = redirect("/users/bob")

    assert await client.fetch_json("https://b.example:443/users/bob#main-key")
    assert await client.fetch_json("https://b.example/@bob")


async def test_refuses_an_id_on_another_host(client: FederationClient, remote: FakeRemote) -> None:
    remote.serve("https://b.example/notes/1", {"id": "https://c.example/notes/1"})

    with pytest.raises(IdMismatchError, match="another host"):
        await client.fetch_json("https://b.example/notes/1")
    assert len(remote.requests) == 1


async def test_refetches_once_from_a_same_host_id(
    client: FederationClient, remote: FakeRemote
) -> None:
    remote.serve("https://b.example/@bob/1", {"id": "https://b.example/notes/1", "v": "stale"})
    remote.serve("https://b.example/notes/1", {"id": "https://b.example/notes/1", "v": "real"})
    remote.serve("https://b.example/@bob/2", {"id": "https://b.example/notes/2"})
    remote.serve("https://b.example/notes/2", {"id": "https://b.example/notes/3"})

    assert (await client.fetch_json("https://b.example/@bob/1"))["v"] == "real"
    with pytest.raises(IdMismatchError):
        await client.fetch_json("https://b.example/@bob/2")
    assert [str(r.url) for r in remote.requests][2:] == [
        "https://b.example/@bob/2",
        "https://b.example/notes/2",
    ]


async def test_refuses_documents_without_an_id(
    client: FederationClient, remote: FakeRemote
) -> None:
    remote.serve("https://b.example/anon", {"type": "Note"})

    with pytest.raises(IdMismatchError, match="no id"):
        await client.fetch_json("https://b.example/anon")


# Signature scheme negotiation


def rfc9421_only(request: httpx.Request) -> httpx.Response:
    if "signature-input" not in request.headers:
        return httpx.Response(401)
    return activity_response(
        {"id": str(request.url)}, status=202 if request.method == "POST" else 200
    )


def cavage_only(request: httpx.Request) -> httpx.Response:
    if "signature-input" in request.headers:
        return httpx.Response(401)
    return activity_response(
        {"id": str(request.url)}, status=202 if request.method == "POST" else 200
    )


async def test_falls_back_to_rfc9421_once_and_remembers_it_per_host(
    client: FederationClient, remote: FakeRemote, instance_key: SigningKey
) -> None:
    remote.routes["https://b.example/users/bob"] = rfc9421_only
    remote.routes["https://b.example/inbox"] = rfc9421_only
    remote.routes["https://c.example/users/carol"] = cavage_only

    await client.fetch_json("https://b.example/users/bob")
    assert ["signature-input" in r.headers for r in remote.requests] == [False, True]
    assert (await verify(remote.requests[1], instance_key)).scheme == "rfc9421"
    assert client.signature_scheme_for("b.example") == "rfc9421"
    assert client.signature_scheme_for("c.example") == "cavage"

    remote.requests.clear()
    result = await client.post_activity("https://b.example/inbox", b"{}", instance_key)
    await client.fetch_json("https://c.example/users/carol")

    assert (result.status, result.scheme_used) == (202, "rfc9421")
    assert [("signature-input" in r.headers) for r in remote.requests] == [True, False]


async def test_a_remembered_rfc9421_host_that_401s_goes_back_to_cavage(
    client: FederationClient, remote: FakeRemote
) -> None:
    remote.routes["https://b.example/users/bob"] = rfc9421_only
    await client.fetch_json("https://b.example/users/bob")
    remote.routes["https://b.example/users/bob"] = cavage_only
    remote.requests.clear()

    await client.fetch_json("https://b.example/users/bob")

    assert ["signature-input" in r.headers for r in remote.requests] == [True, False]
    assert client.signature_scheme_for("b.example") == "cavage"


async def test_a_host_refusing_both_schemes_is_tried_twice_and_not_remembered(
    client: FederationClient, remote: FakeRemote, author_key: SigningKey
) -> None:
    remote.routes["https://b.example/inbox"] = lambda _r: httpx.Response(401, text="no")

    result = await client.post_activity("https://b.example/inbox", b"{}", author_key)

    assert (result.status, result.scheme_used, result.body_excerpt) == (401, "rfc9421", "no")
    assert len(remote.requests) == 2
    assert client.signature_scheme_for("b.example") == "cavage"


# Deliveries


async def test_post_activity_signs_and_reports_status_headers_and_excerpt(
    client: FederationClient, remote: FakeRemote, author_key: SigningKey
) -> None:
    body = json.dumps({"type": "Create", "actor": "https://a.example/users/alice"}).encode()
    remote.routes["https://b.example/inbox"] = lambda _r: httpx.Response(
        429, text="é" * 2000, headers={"Retry-After": "30"}
    )

    result = await client.post_activity("https://b.example/inbox", body, author_key)

    (request,) = remote.requests
    assert request.method == "POST"
    assert request.content == body
    assert request.headers["Content-Type"] == ACTIVITY_CONTENT_TYPE
    assert "digest" in request.headers
    assert (await verify(request, author_key)).key_id == AUTHOR_KEY_ID
    assert (result.status, result.error, result.error_kind) == (429, None, None)
    assert result.headers["retry-after"] == "30"
    assert result.body_excerpt.startswith("éé")
    assert len(result.body_excerpt) <= 1024
    assert 0 <= result.elapsed < 10  # seconds, measured around the exchange
    assert not result.ok


async def test_post_activity_signs_rfc9421_when_asked(
    client: FederationClient, remote: FakeRemote, author_key: SigningKey
) -> None:
    remote.routes["https://b.example/inbox"] = lambda _r: httpx.Response(202)

    result = await client.post_activity(
        "https://b.example/inbox", b"{}", author_key, scheme="rfc9421"
    )

    assert result.ok
    assert result.scheme_used == "rfc9421"
    assert "content-digest" in remote.requests[0].headers
    assert (await verify(remote.requests[0], author_key)).scheme == "rfc9421"


async def test_post_activity_does_not_follow_redirects(
    client: FederationClient, remote: FakeRemote, author_key: SigningKey
) -> None:
    remote.routes["https://b.example/inbox"] = redirect("https://b.example/other-inbox", 307)

    result = await client.post_activity("https://b.example/inbox", b"{}", author_key)

    assert result.status == 307
    assert len(remote.requests) == 1


async def test_post_activity_classifies_timeouts_and_connection_failures(
    make_client: ClientFactory, remote: FakeRemote, author_key: SigningKey
) -> None:
    async def hang(_request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return httpx.Response(202)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    remote.routes["https://slow.example/inbox"] = hang
    remote.routes["https://down.example/inbox"] = refuse
    client = make_client(timeout_seconds=0.05)

    slow = await client.post_activity("https://slow.example/inbox", b"{}", author_key)
    down = await client.post_activity("https://down.example/inbox", b"{}", author_key)

    assert (slow.status, slow.error_kind) == (None, "timeout")
    assert slow.error is not None and "slow.example" in slow.error
    assert (down.status, down.error_kind) == (None, "connect")
    assert down.scheme_used == "cavage"


async def test_post_activity_flags_an_oversized_answer_but_keeps_its_status(
    make_client: ClientFactory, remote: FakeRemote, author_key: SigningKey
) -> None:
    remote.routes["https://b.example/inbox"] = lambda _r: httpx.Response(200, content=b"x" * 9000)

    result = await make_client(max_response_bytes=4096).post_activity(
        "https://b.example/inbox", b"{}", author_key
    )

    assert (result.status, result.error_kind) == (200, "too_large")


async def test_checks_the_address_a_real_connection_reached(instance_key: SigningKey) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = json.dumps({"id": f"http://localhost:{port}/x"}).encode()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: {ACTIVITY_CONTENT_TYPE}\r\n"
        writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = ClientSettings(user_agent="test", timeout_seconds=5)
    # DNS rebinding: the vetted answer is public, the connection lands on loopback.
    guarded = FederationClient(settings, instance_key, resolve=public_dns)
    trusting = FederationClient(
        ClientSettings(user_agent="test", allow_private_addresses=True), instance_key
    )
    try:
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.1"):
            await guarded.fetch_json(f"http://localhost:{port}/x")
        assert await trusting.fetch_json(f"http://localhost:{port}/x") == {
            "id": f"http://localhost:{port}/x"
        }
    finally:
        await guarded.aclose()
        await trusting.aclose()
        server.close()
        await server.wait_closed()


# Per-host fetch limits


async def test_fetches_to_one_host_are_capped_and_background_ones_do_not_queue(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    """At most `fetches_per_host` GETs wait on one host; a background view of the client is
    refused at once (HostBusyError) rather than queueing behind them, and other hosts are not
    affected. The ordinary client queues and is served when a slot frees."""
    gate, both_sent = asyncio.Event(), asyncio.Event()
    waiting: list[str] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        waiting.append(str(request.url))
        if len(waiting) == 2:
            both_sent.set()
        await gate.wait()
        return activity_response({"id": str(request.url), "type": "Note"})

    for number in range(4):
        remote.routes[f"https://slow.example/n/{number}"] = hang
    remote.serve("https://fast.example/n", {"id": "https://fast.example/n", "type": "Note"})
    client = make_client(fetches_per_host=2)
    background = client.for_background(timeout_seconds=30)
    first = asyncio.create_task(client.fetch_json("https://slow.example/n/0"))
    second = asyncio.create_task(background.fetch_json("https://slow.example/n/1"))
    queued = asyncio.create_task(client.fetch_json("https://slow.example/n/2"))
    await both_sent.wait()  # both slots taken; the third waits for one and is not sent
    with pytest.raises(HostBusyError, match=r"2 fetches to slow\.example are already in flight"):
        await background.fetch_json("https://slow.example/n/3")
    assert (await background.fetch_json("https://fast.example/n"))["type"] == "Note"
    assert sorted(waiting) == ["https://slow.example/n/0", "https://slow.example/n/1"]
    gate.set()
    results = await asyncio.gather(first, second, queued)
    assert [doc["id"] for doc in results] == [f"https://slow.example/n/{n}" for n in range(3)]
    assert "https://slow.example/n/3" not in waiting


async def test_a_background_view_has_the_tighter_deadline(
    make_client: ClientFactory, remote: FakeRemote
) -> None:
    async def never(_request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    remote.routes["https://slow.example/x"] = never
    background = make_client(timeout_seconds=30).for_background(timeout_seconds=0.05)
    with pytest.raises(TimeoutFetchError, match=r"no answer within 0\.05 s"):
        await background.fetch_json("https://slow.example/x")
    assert is_transient(TimeoutFetchError("x")) and is_transient(HostBusyError("x"))
    assert is_transient(RemoteStatusError("x", status=503))
    assert not is_transient(RemoteStatusError("x", status=404))
    assert not is_transient(NotJSONError("x"))
