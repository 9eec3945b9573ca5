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


@functools.lru_cache(maxsize=8)
def _shared_keypair(slot: int) -> tuple[str, str]:
    # Generating RSA keys is the slowest thing in these tests; a few shared pairs are enough.
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
    net: FakeNet, iri: str, *, slot: int = 0, kind: str = "Person", **overrides: Any
) -> RemoteActor:
    """Serve an actor document at `iri` (a host that is not one of our instances)."""
    private_pem, public_pem = _shared_keypair(slot)
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
) -> httpx.Response:
    """Sign and POST an activity; `tamper` replaces the body after signing."""
    body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
    headers = {"Content-Type": content_type}
    headers.update(sign_cavage("POST", inbox_url, headers, body, key, now=now))
    async with net.client() as http:
        return await http.post(inbox_url, content=tamper or body, headers=headers)
