"""Fake remote actors that sign for real: a key pair, an actor document served by the fakenet,
and helpers to POST signed activities into an instance's inbox."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from fediverse.activitypub.keys import generate_rsa_keypair, load_private_key
from fediverse.activitypub.signatures import SigningKey, sign_cavage
from tests.fakenet import FakeNet


@functools.cache
def _keypair_of(iri: str, generation: int) -> tuple[str, str]:
    """Give each fake actor, and each generation of its key, a key pair of its own.

    Keys are never shared between actors, so a check made against the wrong actor's key can
    never pass by accident. RSA-2048 costs ~55 ms to generate, so each pair is made once per
    run, when an actor first needs it, and reused by every test that names the same actor.
    """
    del iri, generation  # the cache key: one pair per (actor, generation)
    pair = generate_rsa_keypair()
    return pair.private_pem, pair.public_pem


@dataclass
class RemoteActor:
    iri: str
    document: dict[str, Any]
    key: SigningKey

    @property
    def inbox(self) -> str:
        return str(self.document["inbox"])


def make_remote_actor(
    net: FakeNet, iri: str, *, generation: int = 0, kind: str = "Person", **overrides: Any
) -> RemoteActor:
    """Serve an actor document at `iri` (a host that is not one of our instances).

    The actor signs with its own key; a higher `generation` is a rotated key of the same actor.
    """
    private_pem, public_pem = _keypair_of(iri, generation)
    host = iri.split("/")[2]
    name = iri.rstrip("/").rsplit("/", 1)[-1]
    document: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": iri,
        "type": kind,
        "preferredUsername": name,
        "name": name.title(),
        "inbox": f"{iri}/inbox",
        "outbox": f"{iri}/outbox",
        "followers": f"{iri}/followers",
        "endpoints": {"sharedInbox": f"https://{host}/inbox"},
        "publicKey": {"id": f"{iri}#main-key", "owner": iri, "publicKeyPem": public_pem},
    }
    document.update(overrides)
    net.documents[iri] = document
    key = SigningKey(key_id=document["publicKey"]["id"], private_key=load_private_key(private_pem))
    return RemoteActor(iri=iri, document=document, key=key)


async def post_signed(
    net: FakeNet,
    inbox_url: str,
    activity: dict[str, Any] | bytes,
    key: SigningKey,
    *,
    now: datetime | None = None,
    tamper: bytes | None = None,
    content_type: str = "application/activity+json",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Sign and POST an activity; `tamper` replaces the body after signing, `headers` are
    signed and sent too (a `Host` there is what the signature claims to be for)."""
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    headers = {"Content-Type": content_type, **(headers or {})}
    headers.update(sign_cavage("POST", inbox_url, headers, body, key, now=now))
    async with net.client() as http:
        return await http.post(inbox_url, content=tamper or body, headers=headers)
