"""HTTP signatures: RFC 9421 test vectors, cross-checks with independent libraries, and abuse."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import http_message_signatures as hms
import httpsig
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from http_message_signatures import algorithms as hms_algorithms

from fediverse.activitypub import signatures
from fediverse.activitypub import structured_fields as sf
from fediverse.activitypub.keys import PrivateKey, PublicKey, load_private_key, load_public_key
from fediverse.activitypub.signatures import (
    ResolvedKey,
    SignatureError,
    SigningKey,
    VerifiedSignature,
    body_digest_header,
    content_digest_header,
    sign_cavage,
    sign_rfc9421,
    verify_request,
)

NOW = datetime(2026, 3, 4, 12, 0, 0, tzinfo=UTC)
ALICE = "https://a.example/users/alice"
ALICE_KEY = f"{ALICE}#main-key"
INBOX = "https://b.example/inbox"
BODY = b'{"type": "Follow", "actor": "https://a.example/users/alice"}'
JSON_HEADERS = {"Content-Type": "application/activity+json"}

# --- RFC 9421 appendix B.1 test keys ---------------------------------------------------------

RFC_RSA_PUBLIC_PEM = """-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----
"""
RFC_RSA_PRIVATE_PEM = """-----BEGIN RSA PRIVATE KEY-----
MIIEqAIBAAKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsP
BRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsd
JKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75
jfZgkne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKI
lE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZ
SFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQABAoIBAG/JZuSWdoVHbi56
vjgCgkjg3lkO1KrO3nrdm6nrgA9P9qaPjxuKoWaKO1cBQlE1pSWp/cKncYgD5WxE
CpAnRUXG2pG4zdkzCYzAh1i+c34L6oZoHsirK6oNcEnHveydfzJL5934egm6p8DW
+m1RQ70yUt4uRc0YSor+q1LGJvGQHReF0WmJBZHrhz5e63Pq7lE0gIwuBqL8SMaA
yRXtK+JGxZpImTq+NHvEWWCu09SCq0r838ceQI55SvzmTkwqtC+8AT2zFviMZkKR
Qo6SPsrqItxZWRty2izawTF0Bf5S2VAx7O+6t3wBsQ1sLptoSgX3QblELY5asI0J
YFz7LJECgYkAsqeUJmqXE3LP8tYoIjMIAKiTm9o6psPlc8CrLI9CH0UbuaA2JCOM
cCNq8SyYbTqgnWlB9ZfcAm/cFpA8tYci9m5vYK8HNxQr+8FS3Qo8N9RJ8d0U5Csw
DzMYfRghAfUGwmlWj5hp1pQzAuhwbOXFtxKHVsMPhz1IBtF9Y8jvgqgYHLbmyiu1
mwJ5AL0pYF0G7x81prlARURwHo0Yf52kEw1dxpx+JXER7hQRWQki5/NsUEtv+8RT
qn2m6qte5DXLyn83b1qRscSdnCCwKtKWUug5q2ZbwVOCJCtmRwmnP131lWRYfj67
B/xJ1ZA6X3GEf4sNReNAtaucPEelgR2nsN0gKQKBiGoqHWbK1qYvBxX2X3kbPDkv
9C+celgZd2PW7aGYLCHq7nPbmfDV0yHcWjOhXZ8jRMjmANVR/eLQ2EfsRLdW69bn
f3ZD7JS1fwGnO3exGmHO3HZG+6AvberKYVYNHahNFEw5TsAcQWDLRpkGybBcxqZo
81YCqlqidwfeO5YtlO7etx1xLyqa2NsCeG9A86UjG+aeNnXEIDk1PDK+EuiThIUa
/2IxKzJKWl1BKr2d4xAfR0ZnEYuRrbeDQYgTImOlfW6/GuYIxKYgEKCFHFqJATAG
IxHrq1PDOiSwXd2GmVVYyEmhZnbcp8CxaEMQoevxAta0ssMK3w6UsDtvUvYvF22m
qQKBiD5GwESzsFPy3Ga0MvZpn3D6EJQLgsnrtUPZx+z2Ep2x0xc5orneB5fGyF1P
WtP+fG5Q6Dpdz3LRfm+KwBCWFKQjg7uTxcjerhBWEYPmEMKYwTJF5PBG9/ddvHLQ
EQeNC8fHGg4UXU8mhHnSBt3EA10qQJfRDs15M38eG2cYwB1PZpDHScDnDA0=
-----END RSA PRIVATE KEY-----
"""
RFC_ED25519_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""
RFC_ED25519_PRIVATE_PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""

# The RFC's test-request body and its digests (RFC 9530 appendix "Sample Digest Values").
RFC_BODY = b'{"hello": "world"}'
RFC_SHA512_DIGEST = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew"
    "==:"
)
RFC_SHA256_DIGEST = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"

# RFC 9421 appendix B.2.6: signing test-request with ed25519 (deterministic).
B26_URL = "https://example.com/foo?param=Value&Pet=dog"
B26_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": RFC_SHA512_DIGEST,
    "Content-Length": "18",
    "Signature-Input": 'sig-b26=("date" "@method" "@path" "@authority" "content-type" '
    '"content-length");created=1618884473;keyid="test-key-ed25519"',
    "Signature": "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6v"
    "uQv5lIp5WPpBKRCw==:",
}
B26_BASE = (
    b'"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    b'"@method": POST\n'
    b'"@path": /foo\n'
    b'"@authority": example.com\n'
    b'"content-type": application/json\n'
    b'"content-length": 18\n'
    b'"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
    b'"content-length");created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = base64.b64decode(
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="
)

# RFC 9421 section 4.3: the proxy's rsa-v1_5-sha256 signature with test-key-rsa
# (PKCS#1 v1.5 is deterministic, so our signature must equal the RFC's byte for byte).
PROXY_URL = "https://origin.host.internal.example/foo?param=Value&Pet=dog"
PROXY_HEADERS = {
    "Host": "origin.host.internal.example",
    "Date": "Tue, 20 Apr 2021 02:07:56 GMT",
    "Content-Type": "application/json",
    "Content-Length": "18",
    "Forwarded": "for=192.0.2.123;host=example.com;proto=https",
    "Content-Digest": RFC_SHA512_DIGEST,
    "Signature-Input": 'proxy_sig=("@method" "@authority" "@path" "content-digest" "content-type" '
    '"content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256"'
    ";expires=1618884540",
    "Signature": "proxy_sig=:S6ZzPXSdAMOPjN/6KXfXWNO/f7V6cHm7BXYUh3YD/fRad4BCaRZxP+JH+8XY1I6+8Cy+CM"
    "5g92iHgxtRPz+MjniOaYmdkDcnL9cCpXJleXsOckpURl49GwiyUpZ10KHgOEe11sx3G2gxI8S0jnxQB+Pu68U9vVcasqOWA"
    "EObtNKKZd8tSFu7LB5YAv0RAGhB8tmpv7sFnIm9y+7X5kXQfi8NMaZaA8i2ZHwpBdg7a6CMfwnnrtflzvZdXAsD3LH2TwevU"
    "+/PBPv0B6NMNk93wUs/vfJvye+YuI87HU38lZHowtznbLVdp770I6VHR6WfgS9ddzirrswsE1w5o0LV/g==:",
}
PROXY_BASE = (
    '"@method": POST\n'
    '"@authority": origin.host.internal.example\n'
    '"@path": /foo\n'
    f'"content-digest": {RFC_SHA512_DIGEST}\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"forwarded": for=192.0.2.123;host=example.com;proto=https\n'
    '"@signature-params": ("@method" "@authority" "@path" "content-digest" "content-type" '
    '"content-length" "forwarded");created=1618884480;keyid="test-key-rsa";alg="rsa-v1_5-sha256"'
    ";expires=1618884540"
).encode()


# --- helpers ---------------------------------------------------------------------------------


@dataclass
class FakeResolver:
    """Answer key lookups from dicts and record every call."""

    cached: dict[str, ResolvedKey]
    fresh: dict[str, ResolvedKey] | None = None
    calls: list[tuple[str, bool]] = field(default_factory=list)

    async def __call__(self, key_id: str, refresh: bool) -> ResolvedKey | None:
        self.calls.append((key_id, refresh))
        source = self.fresh if refresh and self.fresh is not None else self.cached
        return source.get(key_id)


def resolver_for(key_id: str, public_key: PublicKey, owner: str = ALICE) -> FakeResolver:
    return FakeResolver({key_id: ResolvedKey(key_id, owner, public_key)})


def raw_sign(private_key: PrivateKey, message: bytes) -> bytes:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    return private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())


def cavage_header(
    private_key: PrivateKey,
    lines: list[tuple[str, str]],
    *,
    key_id: str = ALICE_KEY,
    algorithm: str = "rsa-sha256",
    extra: str = "",
) -> str:
    """Build a draft-cavage Signature header over explicit lines (a test oracle)."""
    message = "\n".join(f"{name}: {value}" for name, value in lines).encode()
    signature = base64.b64encode(raw_sign(private_key, message)).decode()
    names = " ".join(name for name, _ in lines)
    return (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{names}",signature="{signature}"{extra}'
    )


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def pem_of(private_key: PrivateKey) -> tuple[str, str]:
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def signed_post(
    private_key: PrivateKey,
    *,
    scheme: str = "cavage",
    url: str = INBOX,
    body: bytes = BODY,
    key_id: str = ALICE_KEY,
    now: datetime = NOW,
) -> dict[str, str]:
    sign = sign_cavage if scheme == "cavage" else sign_rfc9421
    added = sign("POST", url, JSON_HEADERS, body, SigningKey(key_id, private_key), now=now)
    return {**JSON_HEADERS, **added}


# --- RFC 9421 test vectors -------------------------------------------------------------------


def test_b26_signature_base_is_byte_exact() -> None:
    pending = signatures._prepare_rfc9421(
        "POST",
        signatures._split_url(B26_URL),
        signatures._lower_headers(B26_HEADERS),
        b"",
        signatures._Window(
            datetime.fromtimestamp(1618884473, UTC), timedelta(hours=1), timedelta()
        ),
    )
    assert pending.messages == (B26_BASE,)
    assert pending.signature == B26_SIGNATURE
    assert pending.key_id == "test-key-ed25519"


def test_b26_ed25519_signature_is_byte_exact() -> None:
    private_key = load_private_key(RFC_ED25519_PRIVATE_PEM)
    assert raw_sign(private_key, B26_BASE) == B26_SIGNATURE


async def test_b26_verifies_when_the_body_is_not_in_play() -> None:
    resolver = resolver_for("test-key-ed25519", load_public_key(RFC_ED25519_PUBLIC_PEM))
    result = await verify_request(
        "POST", B26_URL, B26_HEADERS, None, resolver, now=datetime.fromtimestamp(1618884480, UTC)
    )
    assert result == VerifiedSignature("test-key-ed25519", ALICE, "rfc9421")
    assert resolver.calls == [("test-key-ed25519", False)]


async def test_b26_with_its_body_fails_because_content_digest_is_not_signed() -> None:
    # B.2.6 leaves Content-Digest out of the signature; our policy needs it for any body.
    resolver = resolver_for("test-key-ed25519", load_public_key(RFC_ED25519_PUBLIC_PEM))
    with pytest.raises(SignatureError, match="signed Content-Digest"):
        await verify_request(
            "POST",
            B26_URL,
            B26_HEADERS,
            RFC_BODY,
            resolver,
            now=datetime.fromtimestamp(1618884480, UTC),
        )
    assert resolver.calls == []


def test_proxy_rsa_v1_5_signature_base_and_signature_are_byte_exact() -> None:
    pending = signatures._prepare_rfc9421(
        "POST",
        signatures._split_url(PROXY_URL),
        signatures._lower_headers(PROXY_HEADERS),
        RFC_BODY,
        signatures._Window(
            datetime.fromtimestamp(1618884490, UTC), timedelta(hours=1), timedelta()
        ),
    )
    assert pending.messages == (PROXY_BASE,)
    assert raw_sign(load_private_key(RFC_RSA_PRIVATE_PEM), PROXY_BASE) == pending.signature


async def test_proxy_rsa_v1_5_signature_verifies_with_sha512_content_digest() -> None:
    resolver = resolver_for("test-key-rsa", load_public_key(RFC_RSA_PUBLIC_PEM))
    now = datetime.fromtimestamp(1618884490, UTC)
    result = await verify_request("POST", PROXY_URL, PROXY_HEADERS, RFC_BODY, resolver, now=now)
    assert result.key_id == "test-key-rsa"
    assert result.scheme == "rfc9421"


async def test_proxy_signature_is_rejected_after_its_expires_parameter() -> None:
    resolver = resolver_for("test-key-rsa", load_public_key(RFC_RSA_PUBLIC_PEM))
    now = datetime.fromtimestamp(1618884541, UTC)
    with pytest.raises(SignatureError, match="expired"):
        await verify_request("POST", PROXY_URL, PROXY_HEADERS, RFC_BODY, resolver, now=now)


def test_digest_helpers_match_rfc9530_sample_values() -> None:
    assert content_digest_header(RFC_BODY) == RFC_SHA256_DIGEST
    assert body_digest_header(RFC_BODY) == "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
    assert body_digest_header(b"") == "SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


# --- what our signers emit -------------------------------------------------------------------


def test_sign_cavage_post_emits_mastodon_style_headers(rsa_key: rsa.RSAPrivateKey) -> None:
    added = sign_cavage("POST", INBOX, JSON_HEADERS, BODY, SigningKey(ALICE_KEY, rsa_key), now=NOW)
    assert set(added) == {"Host", "Date", "Digest", "Signature"}
    assert added["Host"] == "b.example"
    assert added["Date"] == "Wed, 04 Mar 2026 12:00:00 GMT"
    assert added["Digest"] == body_digest_header(BODY)
    assert added["Signature"].startswith(
        f'keyId="{ALICE_KEY}",algorithm="rsa-sha256",'
        'headers="(request-target) host date digest content-type",signature="'
    )


def test_sign_cavage_get_signs_no_digest_and_ed25519_says_hs2019(
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    added = sign_cavage(
        "GET", "https://b.example:443/users/bob?page=2", {}, None, SigningKey(ALICE_KEY, ed_key)
    )
    assert set(added) == {"Host", "Date", "Signature"}
    assert added["Host"] == "b.example"
    assert 'algorithm="hs2019",headers="(request-target) host date",' in added["Signature"]


def test_sign_rfc9421_emits_expected_fields(rsa_key: rsa.RSAPrivateKey) -> None:
    added = sign_rfc9421("POST", INBOX, JSON_HEADERS, BODY, SigningKey(ALICE_KEY, rsa_key), now=NOW)
    assert set(added) == {"Date", "Content-Digest", "Signature-Input", "Signature"}
    assert added["Content-Digest"] == content_digest_header(BODY)
    assert added["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "content-digest" "content-type")'
        f';created={int(NOW.timestamp())};keyid="{ALICE_KEY}";alg="rsa-v1_5-sha256"'
    )
    assert added["Signature"].startswith("sig1=:") and added["Signature"].endswith(":")
    get = sign_rfc9421("GET", INBOX, {}, None, SigningKey(ALICE_KEY, rsa_key), now=NOW)
    assert "Content-Digest" not in get
    assert get["Signature-Input"].startswith('sig1=("@method" "@target-uri");created=')


# --- round trips and cross-checks ------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize("key_name", ["rsa_key", "ed_key"])
async def test_round_trip(scheme: str, key_name: str, request: pytest.FixtureRequest) -> None:
    private_key = request.getfixturevalue(key_name)
    headers = signed_post(private_key, scheme=scheme)
    resolver = resolver_for(ALICE_KEY, private_key.public_key())
    result = await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert (result.key_id, result.owner, result.scheme) == (ALICE_KEY, ALICE, scheme)
    assert resolver.calls == [(ALICE_KEY, False)]


async def test_header_names_are_case_insensitive(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = {name.upper(): value for name, value in signed_post(rsa_key).items()}
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)


async def test_cavage_signature_in_authorization_header(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = signed_post(rsa_key)
    headers["Authorization"] = "Signature " + headers.pop("Signature")
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    assert (await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)).owner == ALICE


@dataclass
class HmsRequest:
    """The request shape http_message_signatures reads: method, url and a header mapping."""

    method: str
    url: str
    headers: dict[str, str]


HMS_ALGORITHMS: dict[str, Any] = {
    "rsa_key": hms_algorithms.RSA_V1_5_SHA256,
    "ed_key": hms_algorithms.ED25519,
}


@pytest.mark.parametrize("key_name", ["rsa_key", "ed_key"])
async def test_http_message_signatures_signs_we_verify(
    key_name: str, request: pytest.FixtureRequest
) -> None:
    private_key = request.getfixturevalue(key_name)
    url = "https://b.example/inbox?x=1&y=%2F"
    message = HmsRequest("POST", url, {"Content-Type": "application/activity+json"})
    signer = hms.HTTPMessageSigner(
        signature_algorithm=HMS_ALGORITHMS[key_name],
        key_resolver=hms.MappingKeyResolver(public_keys={}, private_keys={ALICE_KEY: private_key}),
    )
    signer.sign(
        message,
        key_id=ALICE_KEY,
        created=NOW,
        label="sig1",
        covered_component_ids=(
            "@method",
            "@authority",
            "@target-uri",
            "@path",
            "@query",
            "@request-target",
            "@scheme",
            "content-type",
        ),
        body=BODY,
    )
    assert "content-digest" in message.headers["Signature-Input"]
    resolver = resolver_for(ALICE_KEY, private_key.public_key())
    result = await verify_request("POST", url, message.headers, BODY, resolver, now=NOW)
    assert result.scheme == "rfc9421"
    with pytest.raises(SignatureError, match="Content-Digest header does not match"):
        await verify_request("POST", url, message.headers, BODY + b" ", resolver, now=NOW)


@pytest.mark.parametrize("key_name", ["rsa_key", "ed_key"])
def test_we_sign_http_message_signatures_verifies(
    key_name: str, request: pytest.FixtureRequest
) -> None:
    private_key = request.getfixturevalue(key_name)
    url = "https://b.example/inbox?x=1"
    added = sign_rfc9421("POST", url, JSON_HEADERS, BODY, SigningKey(ALICE_KEY, private_key))
    message = HmsRequest("POST", url, {**JSON_HEADERS, **added})
    verifier = hms.HTTPMessageVerifier(
        signature_algorithm=HMS_ALGORITHMS[key_name],
        key_resolver=hms.MappingKeyResolver(
            public_keys={ALICE_KEY: private_key.public_key()}, private_keys={}
        ),
    )
    (result,) = verifier.verify(message, body=BODY, require_components=("@method", "@target-uri"))
    assert result.parameters["keyid"] == ALICE_KEY
    assert result.body == BODY  # their verifier checked our Content-Digest too
    message.headers["Content-Type"] = "text/plain"
    with pytest.raises(hms.InvalidSignature):
        verifier.verify(message, body=BODY)


@pytest.mark.parametrize("sign_header", ["signature", "authorization"])
async def test_httpsig_signs_we_verify(rsa_key: rsa.RSAPrivateKey, sign_header: str) -> None:
    private_pem, _ = pem_of(rsa_key)
    date = http_date(NOW)
    base_headers = {"Host": "b.example", "Date": date, "Digest": body_digest_header(BODY)}
    signer = httpsig.HeaderSigner(
        ALICE_KEY,
        private_pem,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date", "digest"],
        sign_header=sign_header,
    )
    signed = signer.sign(base_headers, method="POST", path="/inbox?a=b")
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    result = await verify_request("POST", INBOX + "?a=b", signed, BODY, resolver, now=NOW)
    assert result.scheme == "cavage"


def test_we_sign_httpsig_verifies(rsa_key: rsa.RSAPrivateKey) -> None:
    _, public_pem = pem_of(rsa_key)
    added = sign_cavage("POST", INBOX + "?a=b", JSON_HEADERS, BODY, SigningKey(ALICE_KEY, rsa_key))
    required = ["(request-target)", "host", "date", "digest", "content-type"]
    verifier = httpsig.HeaderVerifier(
        {**JSON_HEADERS, **added},
        public_pem,
        required_headers=required,
        method="POST",
        path="/inbox?a=b",
        sign_header="signature",
    )
    assert verifier.verify() is True
    tampered = httpsig.HeaderVerifier(
        {**JSON_HEADERS, **added, "Digest": body_digest_header(b"other")},
        public_pem,
        required_headers=required,
        method="POST",
        path="/inbox?a=b",
        sign_header="signature",
    )
    assert tampered.verify() is False


def test_header_component_values_follow_rfc9421_section_2_1_examples() -> None:
    # The header fragment and expected values from RFC 9421 section 2.1.
    headers = {
        "X-OWS-Header": "   Leading and trailing whitespace.",
        "X-Obs-Fold-Header": "Obsolete\r\n    line folding.",
        "Example-Dict": " a=1,    b=2;x=1;y=2,   c=(a   b   c)",
        "X-Empty-Header": "",
    }
    lower = signatures._lower_headers(headers)
    target = signatures._split_url("https://www.example.com/path?param=value")

    def value(name: str) -> str:
        return signatures._component_value(name, "POST", target, lower)

    assert value("x-ows-header") == "Leading and trailing whitespace."
    assert value("x-obs-fold-header") == "Obsolete line folding."
    assert value("example-dict") == "a=1,    b=2;x=1;y=2,   c=(a   b   c)"
    assert value("x-empty-header") == ""
    # Section 2.2 examples for the same request.
    assert value("@method") == "POST"
    assert value("@target-uri") == "https://www.example.com/path?param=value"
    assert value("@authority") == "www.example.com"
    assert value("@scheme") == "https"
    assert value("@request-target") == "/path?param=value"
    assert value("@path") == "/path"
    assert value("@query") == "?param=value"
    bare = signatures._split_url("https://WWW.Example.com:443")
    assert signatures._component_value("@query", "GET", bare, {}) == "?"
    assert signatures._component_value("@path", "GET", bare, {}) == "/"
    assert signatures._component_value("@authority", "GET", bare, {}) == "www.example.com"


async def test_whitespace_and_obs_fold_survive_a_cross_check(rsa_key: rsa.RSAPrivateKey) -> None:
    message = HmsRequest(
        "POST",
        INBOX,
        {"X-Ows": "  padded value \t", "X-Fold": "Obsolete\r\n    line folding."},
    )
    signer = hms.HTTPMessageSigner(
        signature_algorithm=hms_algorithms.RSA_V1_5_SHA256,
        key_resolver=hms.MappingKeyResolver(public_keys={}, private_keys={ALICE_KEY: rsa_key}),
    )
    signer.sign(
        message,
        key_id=ALICE_KEY,
        created=NOW,
        covered_component_ids=("@method", "@target-uri", "x-ows", "x-fold"),
    )
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    await verify_request("POST", INBOX, message.headers, None, resolver, now=NOW)


# --- negative cases --------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_tampered_body_is_a_digest_mismatch_without_refetch(
    rsa_key: rsa.RSAPrivateKey, scheme: str
) -> None:
    headers = signed_post(rsa_key, scheme=scheme)
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError, match=r"[Dd]igest header does not match the body") as info:
        await verify_request(
            "POST", INBOX, headers, BODY.replace(b"Follow", b"Delete"), resolver, now=NOW
        )
    assert "does not match the body" in info.value.reason
    assert resolver.calls == []


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_tampered_signed_header_fails_after_one_refetch(
    rsa_key: rsa.RSAPrivateKey, scheme: str
) -> None:
    headers = signed_post(rsa_key, scheme=scheme)
    headers["Content-Type"] = "text/html"
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert resolver.calls == [(ALICE_KEY, False), (ALICE_KEY, True)]


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_different_target_fails(rsa_key: rsa.RSAPrivateKey, scheme: str) -> None:
    headers = signed_post(rsa_key, scheme=scheme)
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request(
            "POST", "https://b.example/other-inbox", headers, BODY, resolver, now=NOW
        )


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_a_signature_made_for_another_host_is_refused(
    rsa_key: rsa.RSAPrivateKey, scheme: str
) -> None:
    headers = {**JSON_HEADERS, "Host": "other.example"}
    if scheme == "cavage":
        key = SigningKey(ALICE_KEY, rsa_key)
        signed = {**headers, **sign_cavage("POST", INBOX, headers, BODY, key, now=NOW)}
    else:
        # RFC 9421 binds @target-uri to us already; a covered Host header is checked too.
        signed = {**headers, **_rfc9421_covering_host(rsa_key)}
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError, match=r"signed for host 'other\.example', not b\.example"):
        await verify_request("POST", INBOX, signed, BODY, resolver, now=NOW)
    assert resolver.calls == []  # refused before any key is looked up


@pytest.mark.parametrize("host", ["b.example", "B.Example", "b.example:443"])
async def test_our_own_host_in_any_spelling_is_accepted(
    rsa_key: rsa.RSAPrivateKey, host: str
) -> None:
    headers = {**JSON_HEADERS, "Host": host}
    added = sign_cavage("POST", INBOX, headers, BODY, SigningKey(ALICE_KEY, rsa_key), now=NOW)
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    verified = await verify_request("POST", INBOX, {**headers, **added}, BODY, resolver, now=NOW)
    assert verified.owner == ALICE


def _rfc9421_covering_host(private_key: PrivateKey) -> dict[str, str]:
    """Sign an RFC 9421 request that covers the Host header (value other.example)."""
    params = sf.InnerList(
        (sf.Item("@method"), sf.Item("@path"), sf.Item("host"), sf.Item("content-digest")),
        {"created": int(NOW.timestamp()), "keyid": ALICE_KEY},
    )
    digest = content_digest_header(BODY)
    serialized = sf.serialize_inner_list(params)
    base = (
        f'"@method": POST\n"@path": /inbox\n"host": other.example\n'
        f'"content-digest": {digest}\n"@signature-params": {serialized}'
    )
    signature = raw_sign(private_key, base.encode())
    return {
        "Content-Digest": digest,
        "Signature-Input": f"sig1={serialized}",
        "Signature": sf.serialize_dictionary({"sig1": sf.Item(signature)}),
    }


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_wrong_key_fails_with_exactly_two_lookups(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey, scheme: str
) -> None:
    headers = signed_post(rsa_key, scheme=scheme)
    resolver = resolver_for(ALICE_KEY, other_rsa_key.public_key())
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert resolver.calls == [(ALICE_KEY, False), (ALICE_KEY, True)]


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
async def test_rotated_key_succeeds_after_one_refetch(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey, scheme: str
) -> None:
    headers = signed_post(rsa_key, scheme=scheme)
    resolver = FakeResolver(
        cached={ALICE_KEY: ResolvedKey(ALICE_KEY, ALICE, other_rsa_key.public_key())},
        fresh={ALICE_KEY: ResolvedKey(ALICE_KEY, ALICE, rsa_key.public_key())},
    )
    result = await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert result.owner == ALICE
    assert resolver.calls == [(ALICE_KEY, False), (ALICE_KEY, True)]


async def test_key_gone_on_refetch_fails(
    rsa_key: rsa.RSAPrivateKey, other_rsa_key: rsa.RSAPrivateKey
) -> None:
    headers = signed_post(rsa_key)
    resolver = FakeResolver(
        cached={ALICE_KEY: ResolvedKey(ALICE_KEY, ALICE, other_rsa_key.public_key())}, fresh={}
    )
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert len(resolver.calls) == 2


async def test_algorithm_that_contradicts_the_key_type_fails(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    date = http_date(NOW)
    lines = [("(request-target)", "get /users/bob"), ("host", "b.example"), ("date", date)]
    headers = {
        "Host": "b.example",
        "Date": date,
        "Signature": cavage_header(ed_key, lines, algorithm="rsa-sha256"),
    }
    resolver = resolver_for(ALICE_KEY, ed_key.public_key())
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("GET", "https://b.example/users/bob", headers, None, resolver, now=NOW)
    headers["Signature"] = cavage_header(ed_key, lines, algorithm="ed25519")
    await verify_request("GET", "https://b.example/users/bob", headers, None, resolver, now=NOW)


async def test_unknown_key(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = signed_post(rsa_key)
    resolver = FakeResolver(cached={})
    with pytest.raises(SignatureError, match="unknown key"):
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert resolver.calls == [(ALICE_KEY, False)]


@pytest.mark.parametrize("scheme", ["cavage", "rfc9421"])
@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (timedelta(minutes=-66), False),
        (timedelta(minutes=-64), True),
        (timedelta(minutes=59), True),
        (timedelta(minutes=61), False),
    ],
)
async def test_date_window(
    rsa_key: rsa.RSAPrivateKey, scheme: str, offset: timedelta, ok: bool
) -> None:
    headers = signed_post(rsa_key, scheme=scheme, now=NOW + offset)
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    if ok:
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
        return
    with pytest.raises(SignatureError) as info:
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert info.value.reason.endswith(
        "is outside the accepted window (65 minutes old to 60 minutes ahead)"
    )
    assert resolver.calls == []


async def test_post_body_without_signed_digest_is_rejected(rsa_key: rsa.RSAPrivateKey) -> None:
    private_pem, _ = pem_of(rsa_key)
    signer = httpsig.HeaderSigner(
        ALICE_KEY,
        private_pem,
        algorithm="rsa-sha256",
        headers=["(request-target)", "host", "date"],
        sign_header="signature",
    )
    headers = signer.sign(
        {"Host": "b.example", "Date": http_date(NOW)}, method="POST", path="/inbox"
    )
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError, match="must have a signed Digest"):
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    # The same signature is fine for a bodiless request: nothing is left unsigned.
    await verify_request("POST", INBOX, headers, None, resolver, now=NOW)


async def test_query_string_fallback_for_request_target(rsa_key: rsa.RSAPrivateKey) -> None:
    headers = signed_post(rsa_key, url=INBOX)  # signed without the query
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    result = await verify_request("POST", INBOX + "?via=relay", headers, BODY, resolver, now=NOW)
    assert result.owner == ALICE
    assert resolver.calls == [(ALICE_KEY, False)]  # matched without a refetch
    with_query = signed_post(rsa_key, url=INBOX + "?via=relay")
    await verify_request("POST", INBOX + "?via=relay", with_query, BODY, resolver, now=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        await verify_request("POST", INBOX, with_query, BODY, resolver, now=NOW)


async def test_gotosocial_style_key_id_without_fragment(rsa_key: rsa.RSAPrivateKey) -> None:
    key_id = "https://gts.example/users/carol/main-key"
    headers = signed_post(rsa_key, key_id=key_id)
    resolver = resolver_for(key_id, rsa_key.public_key(), owner="https://gts.example/users/carol")
    result = await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert result == VerifiedSignature(key_id, "https://gts.example/users/carol", "cavage")


async def test_key_id_with_comma_and_quote_survives_the_header_syntax(
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    key_id = 'https://a.example/users/x,y"z#main-key'
    headers = signed_post(rsa_key, key_id=key_id)
    assert 'keyId="https://a.example/users/x,y\\"z#main-key"' in headers["Signature"]
    resolver = resolver_for(key_id, rsa_key.public_key())
    assert (await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)).key_id == key_id


async def test_created_and_expires_pseudo_headers(ed_key: ed25519.Ed25519PrivateKey) -> None:
    created = int(NOW.timestamp()) - 30
    digest = body_digest_header(BODY)
    lines = [
        ("(request-target)", "post /inbox"),
        ("(created)", str(created)),
        ("(expires)", str(created + 300)),
        ("digest", digest),
    ]
    extra = f",created={created},expires={created + 300}"
    headers = {
        "Digest": digest,
        "Signature": cavage_header(ed_key, lines, algorithm="hs2019", extra=extra),
    }
    resolver = resolver_for(ALICE_KEY, ed_key.public_key())
    await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    with pytest.raises(SignatureError, match="expired"):
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW + timedelta(minutes=5))


async def test_date_or_created_must_be_signed(rsa_key: rsa.RSAPrivateKey) -> None:
    lines = [("(request-target)", "get /users/bob"), ("host", "b.example")]
    headers = {"Host": "b.example", "Signature": cavage_header(rsa_key, lines)}
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError, match=r"Date header or \(created\)"):
        await verify_request("GET", "https://b.example/users/bob", headers, None, resolver, now=NOW)


async def test_missing_headers_parameter_defaults_to_date(rsa_key: rsa.RSAPrivateKey) -> None:
    date = http_date(NOW)
    message = f"date: {date}".encode()
    signature = base64.b64encode(raw_sign(rsa_key, message)).decode()
    headers = {"Date": date, "Signature": f'keyId="{ALICE_KEY}",signature="{signature}"'}
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    # "date" alone satisfies the timestamp rule but binds nothing to the request, so the
    # request-binding rule is what rejects it; with (created) as default the timestamp rule would.
    with pytest.raises(SignatureError, match=r"\(request-target\) or Digest"):
        await verify_request("GET", "https://b.example/", headers, None, resolver, now=NOW)


@pytest.mark.parametrize(
    ("digest", "ok"),
    [
        (body_digest_header(BODY).replace("SHA-256", "sha-256"), True),
        (
            "SHA-512="
            + base64.b64encode(hashlib.sha512(BODY).digest()).decode()
            + ", "
            + body_digest_header(BODY),
            True,
        ),
        ("SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode(), False),
        (body_digest_header(BODY) + "," + body_digest_header(b"x"), False),
        ("SHA-256=not base64!", False),
        ("SHA-256", False),
    ],
)
async def test_digest_header_variants(rsa_key: rsa.RSAPrivateKey, digest: str, ok: bool) -> None:
    date = http_date(NOW)
    lines = [("(request-target)", "post /inbox"), ("date", date), ("digest", digest)]
    headers = {"Date": date, "Digest": digest, "Signature": cavage_header(rsa_key, lines)}
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    if ok:
        await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    else:
        with pytest.raises(SignatureError, match="Digest"):
            await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
        assert resolver.calls == []


async def test_rfc9421_picks_the_first_signature_it_can_check(rsa_key: rsa.RSAPrivateKey) -> None:
    ours = signed_post(rsa_key, scheme="rfc9421")
    pss_input = 'pss=("@method");created=1;keyid="x";alg="rsa-pss-sha512"'
    headers = {
        **ours,
        "Signature-Input": f"{pss_input}, {ours['Signature-Input']}",
        "Signature": f"pss=:AAAA:, {ours['Signature']}",
    }
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    result = await verify_request("POST", INBOX, headers, BODY, resolver, now=NOW)
    assert result.key_id == ALICE_KEY
    only_pss = {**ours, "Signature-Input": pss_input, "Signature": "pss=:AAAA:"}
    with pytest.raises(SignatureError, match="unsupported algorithm 'rsa-pss-sha512'"):
        await verify_request("POST", INBOX, only_pss, BODY, resolver, now=NOW)
    assert resolver.calls == [(ALICE_KEY, False)]


@pytest.mark.parametrize(
    ("signature_input", "reason"),
    [
        ('sig1=("@method" "@target-uri");keyid="k"', "created"),
        ('sig1=("@method" "@target-uri");keyid="k";created="1"', "created"),
        ('sig1=("@method" "@target-uri");created=1772625600', "keyid"),
        ('sig1=("@method");keyid="k";created=1772625600', "must cover"),
        (
            'sig1=("@method" "@target-uri" "@status");keyid="k";created=1772625600',
            "unsupported component",
        ),
        ('sig1=("@method" "@target-uri" "X-Upper");keyid="k";created=1772625600', "lowercase"),
        ('sig1=("@method" "@target-uri" "x-missing");keyid="k";created=1772625600', "missing"),
        ('sig1=("@method" "@method" "@path");keyid="k";created=1772625600', "twice"),
        ('sig1=("@method" "content-type";sf "@path");keyid="k";created=1772625600', "parameters"),
        ('sig1=("@path" content-type);keyid="k";created=1772625600', "must be strings"),
        ('sig1=("@path");keyid="k";created=1772625600;expires=1772625599', "expired"),
        ('sig1=("@path");keyid="k";created=1', "outside the accepted window"),
        ('sig1=("@path");keyid="k";created=999999999999999', "window|timestamp"),
        ("sig1=:AAAA:", "inner list"),
        ("other=();created=1", "byte sequence"),
        ('sig1=("@path"', "malformed"),
        ('sig1=("@path");keyid="k";created=1772625600, sig1=()', "duplicate"),
    ],
)
async def test_rfc9421_malformed_or_policy_violating_inputs(
    signature_input: str, reason: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    headers = {
        "Content-Type": "application/json",
        "Signature-Input": signature_input,
        "Signature": "sig1=:AAAA:",
    }
    resolver = resolver_for("k", rsa_key.public_key())
    with pytest.raises(SignatureError, match=reason):
        await verify_request("GET", INBOX, headers, None, resolver, now=NOW)
    assert resolver.calls == []


NASTY_SIGNATURE_HEADERS = [
    ("", "no keyId"),
    ("garbage", "malformed"),
    (",,,,", "no keyId"),
    ("=", "malformed"),
    ('keyId="', "unterminated"),
    ('keyId="a', "unterminated"),
    ('keyId="a"', "no signature parameter"),
    ('keyId="a",signature="!!!"', "not valid base64"),
    ('keyId="a",signature=""', "empty"),
    ('keyId="a" garbage,signature="YQ=="', "malformed"),
    ('keyId="a",keyId="b",signature="YQ=="', "repeats"),
    ('keyId="a",algorithm="rsa-sha512",headers="date",signature="YQ=="', "unsupported algorithm"),
    ('keyId="a",headers="",signature="YQ=="', "empty or too long"),
    ('keyId="a",headers="date date",signature="YQ=="', "twice"),
    ('keyId="a",headers="(request-target) (created)",signature="YQ==",created="soon"', "integer"),
    ('keyId="a",headers="(request-target) (created)",signature="YQ=="', "parameter is missing"),
    ('keyId="a",headers="(request-target) (weird) date",signature="YQ=="', "pseudo-header"),
    (
        'keyId="a",headers="(request-target) date x-absent",signature="YQ=="',
        "'x-absent' is missing",
    ),
    ('keyId="a",headers="(request-target) date",signature="YQ==",expires=-5', "integer"),
    ('keyId="a",headers="(request-target) date",signature="YQ==",created=9' + "9" * 20, "integer"),
    ('keyId="ä",headers="(request-target) date",signature="YQ=="\x00\xff', "malformed"),
    ('keyId="a",headers="' + "x " * 100 + '",signature="YQ=="', "too long"),
    ('keyId="a",signature="' + "A" * 9000 + '"', "longer than 8192"),
    ("\\" * 50, "malformed"),
    ('"' * 51, "malformed"),
]


@pytest.mark.parametrize(("value", "reason"), NASTY_SIGNATURE_HEADERS)
async def test_nasty_cavage_headers_raise_signature_error(
    value: str, reason: str, rsa_key: rsa.RSAPrivateKey
) -> None:
    headers = {"Signature": value, "Date": http_date(NOW), "Host": "b.example"}
    resolver = resolver_for("a", rsa_key.public_key())
    with pytest.raises(SignatureError, match=reason):
        await verify_request("GET", INBOX, headers, None, resolver, now=NOW)
    assert resolver.calls == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer abc"},
        {"Signature-Input": 'sig1=("@path");created=1;keyid="k"'},
        {"Signature-Input": "sig1=" + "(" * 9000, "Signature": "sig1=:AAAA:"},
        {"Signature-Input": "\x00", "Signature": "\x00"},
        {
            "Signature-Input": 'sig1=("@path");keyid="k";created=1772625600',
            "Signature": "sig1=:!!!:",
        },
        {
            "Signature-Input": 'sig1=("@path");keyid="k";created=1772625600',
            "Signature": "sig1=:AAA",
        },
        {"Signature-Input": 'sig1=("\\x")', "Signature": "sig1=:AAAA:"},
        {"Signature-Input": 'sig1=("é")', "Signature": "sig1=:AAAA:"},
        {"Signature-Input": "sig1=(1234567890123456)", "Signature": "sig1=:AAAA:"},
        {"Signature-Input": "SIG1=()", "Signature": "SIG1=:AAAA:"},
        {"Signature-Input": "sig1=(),", "Signature": "sig1=:AAAA:"},
        {"Signature-Input": "sig1=() ;", "Signature": "sig1=:AAAA:"},
        {
            "Signature": 'keyId="a",headers="(request-target) date",signature="YQ=="',
            "Date": "not a date",
        },
        {
            "Signature": 'keyId="a",headers="(request-target) date",signature="YQ=="',
            "Date": "x" * 500,
        },
        {"Signature": 'keyId="a",headers="(request-target) date",signature="YQ=="'},
    ],
)
async def test_nasty_requests_raise_signature_error(
    headers: Mapping[str, str], rsa_key: rsa.RSAPrivateKey
) -> None:
    resolver = resolver_for("a", rsa_key.public_key())
    with pytest.raises(SignatureError):
        await verify_request("POST", INBOX, headers, None, resolver, now=NOW)


@pytest.mark.parametrize(
    "url", ["", "/inbox", "https://", "https://[::1/inbox", "https://h:99999/"]
)
async def test_bad_urls_raise_signature_error(url: str, rsa_key: rsa.RSAPrivateKey) -> None:
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError, match="URL"):
        await verify_request("POST", url, signed_post(rsa_key), BODY, resolver, now=NOW)


def test_signature_error_carries_its_reason() -> None:
    error = SignatureError("no Signature header")
    assert error.reason == str(error) == "no Signature header"


async def test_no_signature_header_reason(rsa_key: rsa.RSAPrivateKey) -> None:
    resolver = resolver_for(ALICE_KEY, rsa_key.public_key())
    with pytest.raises(SignatureError) as info:
        await verify_request("GET", INBOX, {"Date": http_date(NOW)}, None, resolver, now=NOW)
    assert info.value.reason == "no Signature header"


# --- structured fields (RFC 8941) ------------------------------------------------------------


def test_structured_dictionary_round_trip() -> None:
    text = 'a=1, b=("x" "y\\"z");p=?0, c, d=:AQID:;q="s", e=tok/en:1, f=-1.5, g=?1;h'
    parsed = sf.parse_dictionary(text)
    assert parsed["a"] == sf.Item(1)
    assert parsed["b"] == sf.InnerList((sf.Item("x"), sf.Item('y"z')), {"p": False})
    assert parsed["c"] == sf.Item(True)
    assert parsed["d"] == sf.Item(b"\x01\x02\x03", {"q": "s"})
    assert parsed["e"].value == "tok/en:1" and isinstance(parsed["e"].value, sf.Token)
    assert parsed["f"] == sf.Item(Decimal("-1.5"))
    assert parsed["g"] == sf.Item(True, {"h": True})
    assert sf.serialize_dictionary(parsed) == text.replace("g=?1;h", "g;h")


@pytest.mark.parametrize(
    "text",
    [
        "a=1,",
        "a=1, a=2",
        'a="\\n"',
        'a="unterminated',
        "a=1234567890123456",
        "a=1.2345",
        "a=:!!:",
        "a=:AAAAA:",
        "a=(1 2",
        "a=(1,2)",
        "a=?2",
        "A=1",
        "a=1 b=2",
        "a=é",
    ],
)
def test_structured_dictionary_rejects_invalid_input(text: str) -> None:
    with pytest.raises(sf.StructuredFieldError):
        sf.parse_dictionary(text)
