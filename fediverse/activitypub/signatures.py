"""Sign and verify HTTP requests with draft-cavage HTTP Signatures and RFC 9421 Message Signatures.

The fediverse mostly speaks draft-cavage-http-signatures-12 (Mastodon's dialect: rsa-sha256 over
`(request-target) host date digest`); newer servers also speak RFC 9421. This module is the pure
protocol layer: callers pass the request parts and an async key resolver, and get back who signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from fediverse.activitypub import structured_fields as sf
from fediverse.activitypub.keys import PrivateKey, PublicKey

MAX_SIGNATURE_HEADER = 8_192
MAX_DIGEST_HEADER = 1_024
MAX_DATE_HEADER = 128
MAX_COVERED_COMPONENTS = 32

_DEFAULT_PORTS = {"http": 80, "https": 443}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Stateless helpers: build them once instead of on every sign and verify.
_PKCS1 = padding.PKCS1v15()
_SHA256 = hashes.SHA256()

# Which key type each algorithm name demands; None means "infer from the key".
_CAVAGE_ALGORITHMS = {"rsa-sha256": "rsa", "hs2019": None, "ed25519": "ed25519"}
_RFC9421_ALGORITHMS: dict[str, str] = {"rsa-v1_5-sha256": "rsa", "ed25519": "ed25519"}
_CONTENT_DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
_TARGET_COMPONENTS = frozenset({"@target-uri", "@request-target", "@path", "content-digest"})

_CAVAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
# Unrolled loop: one fast run per stretch of plain characters (a 344-byte base64 signature).
_CAVAGE_QUOTED = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"')
_ESCAPE = re.compile(r"\\(.)")
_OBS_FOLD = re.compile(r"\r?\n[ \t]+")


@dataclass(frozen=True, slots=True)
class SigningKey:
    """Name the local key that signs outgoing requests."""

    key_id: str  # e.g. "https://a.example/users/alice#main-key"
    private_key: PrivateKey


@dataclass(frozen=True, slots=True)
class ResolvedKey:
    """Carry what a key resolver knows about a key id."""

    key_id: str
    owner: str  # actor IRI that owns the key
    public_key: PublicKey


# resolve(key_id, refresh) -> key, or None if unknown; refresh=True bypasses caches and refetches.
KeyResolver = Callable[[str, bool], Awaitable[ResolvedKey | None]]


class SignatureError(Exception):
    """Report a request whose signature is missing, malformed or wrong; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """Identify the key, and the actor owning it, that signed a verified request."""

    key_id: str
    owner: str
    scheme: Literal["cavage", "rfc9421"]


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    authority: str  # lowercased host[:port], default port omitted (RFC 9110 section 4.2.3)
    path: str
    query: str | None

    @property
    def request_target(self) -> str:
        return self.path if self.query is None else f"{self.path}?{self.query}"

    @property
    def uri(self) -> str:
        return f"{self.scheme}://{self.authority}{self.request_target}"


# RFC 9421 section 2.2 derived components we support; @query-param and @status we do not.
_DERIVED: dict[str, Callable[[str, _Target], str]] = {
    "@method": lambda method, _: method,
    "@target-uri": lambda _, target: target.uri,
    "@authority": lambda _, target: target.authority,
    "@scheme": lambda _, target: target.scheme,
    "@path": lambda _, target: target.path,
    "@query": lambda _, target: "?" + (target.query or ""),
    "@request-target": lambda _, target: target.request_target,
}


@dataclass(frozen=True, slots=True)
class _Pending:
    """Hold a parsed signature whose only remaining step is the cryptographic check."""

    key_id: str
    scheme: Literal["cavage", "rfc9421"]
    key_type: str | None  # "rsa", "ed25519" or None to infer from the key
    signature: bytes
    messages: tuple[bytes, ...]  # candidate signature bases, tried in order


def body_digest_header(body: bytes) -> str:
    """Return the draft-cavage `Digest` value for a body (RFC 3230 `SHA-256=<base64>`)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes) -> str:
    """Return the RFC 9530 `Content-Digest` value for a body (`sha-256=:<base64>:`)."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def sign_cavage(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key: SigningKey,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request draft-cavage style; return the Host, Date, Digest and Signature to add."""
    target = _split_url(url)
    lower = _lower_headers(headers)
    host = lower.get("host") or target.authority
    date = lower.get("date") or format_datetime(_utc(now), usegmt=True)
    added = {"Host": host, "Date": date}
    values = {
        "(request-target)": f"{method.lower()} {target.request_target}",
        "host": host,
        "date": date,
    }
    if body is not None or method.upper() in _BODY_METHODS:
        added["Digest"] = values["digest"] = body_digest_header(body or b"")
        if "content-type" in lower:
            values["content-type"] = lower["content-type"].strip()
    signing_string = "\n".join(f"{name}: {value}" for name, value in values.items())
    signature = _sign(key.private_key, signing_string.encode("latin-1"))
    # Mastodon and most peers only know the name rsa-sha256; Ed25519 has no cavage name of
    # its own, so it goes out as hs2019 ("derive the algorithm from the key").
    algorithm = "hs2019" if isinstance(key.private_key, ed25519.Ed25519PrivateKey) else "rsa-sha256"
    key_id = key.key_id.replace("\\", "\\\\").replace('"', '\\"')
    added["Signature"] = (
        f'keyId="{key_id}",algorithm="{algorithm}",headers="{" ".join(values)}",'
        f'signature="{base64.b64encode(signature).decode("ascii")}"'
    )
    return added


def sign_rfc9421(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    key: SigningKey,
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Sign a request per RFC 9421; return Date, Content-Digest, Signature-Input and Signature.

    Raise ValueError if the key id is not printable ASCII (RFC 8941 strings cannot carry it).
    """
    target = _split_url(url)
    lower = _lower_headers(headers)
    moment = _utc(now)
    added = {"Date": lower.get("date") or format_datetime(moment, usegmt=True)}
    values = {"@method": method.upper(), "@target-uri": target.uri}
    if body is not None or method.upper() in _BODY_METHODS:
        added["Content-Digest"] = values["content-digest"] = content_digest_header(body or b"")
        if "content-type" in lower:
            values["content-type"] = lower["content-type"].strip()
    is_ed25519 = isinstance(key.private_key, ed25519.Ed25519PrivateKey)
    signature_params = sf.InnerList(
        tuple(sf.Item(name) for name in values),
        {
            "created": int(moment.timestamp()),
            "keyid": key.key_id,
            "alg": "ed25519" if is_ed25519 else "rsa-v1_5-sha256",
        },
    )
    serialized_params = sf.serialize_inner_list(signature_params)
    base = _rfc9421_base(values, serialized_params)
    signature = _sign(key.private_key, base.encode("ascii"))
    added["Signature-Input"] = f"sig1={serialized_params}"
    added["Signature"] = sf.serialize_dictionary({"sig1": sf.Item(signature)})
    return added


async def verify_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    resolve_key: KeyResolver,
    *,
    now: datetime | None = None,
    max_age: timedelta = timedelta(minutes=65),
    max_future: timedelta = timedelta(minutes=60),
) -> VerifiedSignature:
    """Verify a signed request (RFC 9421 if Signature-Input is present, else draft-cavage).

    Return the resolved key id and its owner. Raise SignatureError for anything missing,
    malformed, stale or not matching; exceptions raised by `resolve_key` propagate unchanged.
    """
    lower = _lower_headers(headers)
    target = _split_url(url)
    window = _Window(_utc(now), max_age, max_future)
    if "signature-input" in lower:
        pending = _prepare_rfc9421(method, target, lower, body or b"", window)
    else:
        pending = _prepare_cavage(method, target, lower, body or b"", window)

    resolved = await resolve_key(pending.key_id, False)
    if resolved is None:
        raise SignatureError(f"unknown key {_clip(pending.key_id)}")
    if not _signature_matches(pending, resolved.public_key):
        # The actor may have rotated its key since we cached it: refetch exactly once.
        resolved = await resolve_key(pending.key_id, True)
        if resolved is None or not _signature_matches(pending, resolved.public_key):
            raise SignatureError(f"signature does not verify with key {_clip(pending.key_id)}")
    return VerifiedSignature(key_id=resolved.key_id, owner=resolved.owner, scheme=pending.scheme)


@dataclass(frozen=True, slots=True)
class _Window:
    now: datetime
    max_age: timedelta
    max_future: timedelta

    def check(self, moment: datetime, what: str) -> None:
        if self.now - self.max_age <= moment <= self.now + self.max_future:
            return
        raise SignatureError(
            f"{what} is outside the accepted window "
            f"({_describe(self.max_age)} old to {_describe(self.max_future)} ahead)"
        )

    def check_timestamp(self, timestamp: int, what: str) -> None:
        try:
            moment = datetime.fromtimestamp(timestamp, UTC)
        except (OverflowError, OSError, ValueError):
            raise SignatureError(f"{what} is not a usable timestamp") from None
        self.check(moment, what)

    def check_expires(self, expires: int) -> None:
        if self.now.timestamp() > expires:
            raise SignatureError("signature has expired")


def _prepare_cavage(
    method: str, target: _Target, lower: dict[str, str], body: bytes, window: _Window
) -> _Pending:
    raw = lower.get("signature")
    if raw is None:
        authorization = lower.get("authorization", "")
        if authorization[:10].lower() == "signature ":
            raw = authorization[10:]
    if raw is None:
        raise SignatureError("no Signature header")
    if len(raw) > MAX_SIGNATURE_HEADER:
        raise SignatureError(f"Signature header is longer than {MAX_SIGNATURE_HEADER} characters")
    params = _parse_cavage_params(raw)
    key_id = params.get("keyid")
    if not key_id:
        raise SignatureError("Signature header has no keyId")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in _CAVAGE_ALGORITHMS:
        raise SignatureError(f"unsupported algorithm {algorithm[:40]!r}")
    if "signature" not in params:
        raise SignatureError("Signature header has no signature parameter")
    signature = _decode_base64(params["signature"], "signature")
    # draft-cavage-12 section 2.1.6 says the default is (created); older drafts and every
    # fediverse peer we know of treat a missing list as "date".
    covered = params.get("headers", "date").lower().split()
    if not covered or len(covered) > MAX_COVERED_COMPONENTS:
        raise SignatureError("Signature headers parameter is empty or too long")
    if len(set(covered)) != len(covered):
        raise SignatureError("Signature headers parameter lists a header twice")
    created = _cavage_int(params, "created")
    expires = _cavage_int(params, "expires")

    # Policy, Mastodon-compatible: a fresh timestamp must be signed, a body needs a signed
    # digest, and something must bind the signature to this request.
    if "date" not in covered and "(created)" not in covered:
        raise SignatureError("the signature must cover the Date header or (created)")
    if body and "digest" not in covered:
        raise SignatureError("a request with a body must have a signed Digest header")
    if "(request-target)" not in covered and "digest" not in covered:
        raise SignatureError("the signature must cover (request-target) or Digest")
    if "digest" in covered:
        _check_digest(lower.get("digest"), body)
    if expires is not None:
        window.check_expires(expires)
    if created is not None:
        window.check_timestamp(created, "signature creation time")
    if "date" in covered:
        window.check(_parse_http_date(lower.get("date")), "Date header")
    if "host" in covered and "host" in lower:
        _check_signed_host(lower["host"], target)

    lines: list[str] = []
    for name in covered:
        if name == "(request-target)":
            value = f"{method.lower()} {target.request_target}"
        elif name in ("(created)", "(expires)"):
            number = created if name == "(created)" else expires
            if number is None:
                raise SignatureError(f"{name} is signed but the parameter is missing")
            value = str(number)
        elif name.startswith("("):
            raise SignatureError(f"unsupported pseudo-header {name[:40]!r}")
        elif name == "host" and "host" not in lower:
            value = target.authority
        elif name in lower:
            value = lower[name].strip()
        else:
            raise SignatureError(f"signed header {name[:40]!r} is missing")
        lines.append(f"{name}: {value}")
    messages = [_latin1("\n".join(lines))]
    if target.query is not None and "(request-target)" in covered:
        # Some peers sign the path without its query string; accept either form.
        index = covered.index("(request-target)")
        lines[index] = f"(request-target): {method.lower()} {target.path}"
        messages.append(_latin1("\n".join(lines)))
    return _Pending(key_id, "cavage", _CAVAGE_ALGORITHMS[algorithm], signature, tuple(messages))


def _parse_cavage_params(raw: str) -> dict[str, str]:
    """Parse `name="quoted, value",name=token` pairs; names are returned lowercased."""
    params: dict[str, str] = {}
    pos, end = 0, len(raw)
    while True:
        while pos < end and raw[pos] in " \t,":
            pos += 1
        if pos >= end:
            return params
        equals = raw.find("=", pos)
        name = raw[pos:equals].strip() if equals > 0 else ""
        if not _CAVAGE_NAME.fullmatch(name):
            raise SignatureError("Signature header is malformed: expected name=value pairs")
        pos = equals + 1
        while pos < end and raw[pos] in " \t":
            pos += 1
        if raw.startswith('"', pos):
            match = _CAVAGE_QUOTED.match(raw, pos)
            if match is None:
                raise SignatureError("Signature header is malformed: unterminated quoted value")
            value = match.group(1)
            if "\\" in value:
                value = _ESCAPE.sub(r"\1", value)
            pos = match.end()
            while pos < end and raw[pos] in " \t":
                pos += 1
            if pos < end and raw[pos] != ",":
                raise SignatureError("Signature header is malformed: expected ',' after a value")
        else:
            comma = raw.find(",", pos)
            comma = end if comma < 0 else comma
            value, pos = raw[pos:comma].strip(), comma
        name = name.lower()
        if name in params:
            raise SignatureError(f"Signature header repeats the {name[:40]!r} parameter")
        params[name] = value


def _cavage_int(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 15:
        raise SignatureError(f"Signature {name} parameter is not an integer timestamp")
    return int(value)


def _check_signed_host(value: str, target: _Target) -> None:
    """Refuse a signature made for another server: a signed Host must name the one verifying.

    Without this, a request a peer signed for `other.example` could be replayed to us.
    """
    host = value.strip().lower()
    default_port = f":{_DEFAULT_PORTS.get(target.scheme, '')}"
    if host.endswith(default_port):
        host = host[: -len(default_port)]
    if host != target.authority:
        raise SignatureError(
            f"the request was signed for host {_clip(value.strip())}, not {target.authority}"
        )


def _check_digest(value: str | None, body: bytes) -> None:
    """Check a draft-cavage `Digest` (RFC 3230): one SHA-256 entry must be present and match."""
    if value is None:
        raise SignatureError("Digest header is signed but missing")
    if len(value) > MAX_DIGEST_HEADER:
        raise SignatureError(f"Digest header is longer than {MAX_DIGEST_HEADER} characters")
    expected, found = hashlib.sha256(body).digest(), False
    for entry in value.split(","):
        algorithm, separator, encoded = entry.strip().partition("=")
        if not separator:
            raise SignatureError("Digest header is malformed")
        if algorithm.strip().lower() != "sha-256":
            continue
        found = True
        digest = _decode_base64(encoded.strip(), "Digest header")
        if not hmac.compare_digest(digest, expected):
            raise SignatureError("Digest header does not match the body")
    if not found:
        raise SignatureError("Digest header has no SHA-256 digest")


def _prepare_rfc9421(
    method: str, target: _Target, lower: dict[str, str], body: bytes, window: _Window
) -> _Pending:
    raw_input = lower["signature-input"]
    raw_signature = lower.get("signature")
    if raw_signature is None:
        raise SignatureError("no Signature header")
    for name, raw in (("Signature-Input", raw_input), ("Signature", raw_signature)):
        if len(raw) > MAX_SIGNATURE_HEADER:
            raise SignatureError(f"{name} header is longer than {MAX_SIGNATURE_HEADER} characters")
    inputs = _parse_sf_dictionary(raw_input, "Signature-Input")
    signatures = _parse_sf_dictionary(raw_signature, "Signature")

    # RFC 9421 section 3.2 step 1: which signature to verify is verifier policy. Take the
    # first label we are able to check, so an extra signature in an algorithm we lack
    # (e.g. a proxy's) does not hide one we can.
    first_problem: str | None = None
    for label, member in inputs.items():
        problem = _unusable_signature(label, member, signatures)
        if problem is None:
            break
        first_problem = first_problem or problem
    else:
        raise SignatureError(first_problem or "Signature-Input header lists no signatures")
    assert isinstance(member, sf.InnerList)
    signature = signatures[label]
    assert isinstance(signature, sf.Item) and isinstance(signature.value, bytes)
    params = member.params
    key_id = params["keyid"]
    assert isinstance(key_id, str)
    alg = params.get("alg")
    key_type = _RFC9421_ALGORITHMS[alg] if isinstance(alg, str) else None

    created = params.get("created")
    if isinstance(created, bool) or not isinstance(created, int):
        raise SignatureError("signature has no integer created parameter")
    expires = params.get("expires")
    if expires is not None:
        if isinstance(expires, bool) or not isinstance(expires, int):
            raise SignatureError("signature expires parameter is not an integer")
        window.check_expires(expires)
    window.check_timestamp(created, "signature creation time")

    if len(member.items) > MAX_COVERED_COMPONENTS:
        raise SignatureError("signature covers too many components")
    values: dict[str, str] = {}
    for item in member.items:
        component = item.value
        if not isinstance(component, str) or isinstance(component, sf.Token):
            raise SignatureError("covered components must be strings")
        if item.params:
            raise SignatureError(f"component parameters are not supported ({component[:40]!r})")
        if component in values:
            raise SignatureError(f"component {component[:40]!r} is covered twice")
        values[component] = _component_value(component, method, target, lower)
    if values.keys().isdisjoint(_TARGET_COMPONENTS):
        raise SignatureError("the signature must cover @target-uri, @path or Content-Digest")
    if body and "content-digest" not in values:
        raise SignatureError("a request with a body must have a signed Content-Digest header")
    if "content-digest" in values:
        _check_content_digest(values["content-digest"], body)

    try:
        serialized_params = sf.serialize_inner_list(member)
    except sf.StructuredFieldError as exc:
        raise SignatureError(f"Signature-Input header is malformed: {exc}") from None
    base = _rfc9421_base(values, serialized_params)
    try:
        message = base.encode("ascii")
    except UnicodeEncodeError:
        # RFC 9421 section 2.5 step 4: a base with non-ASCII characters is an error.
        raise SignatureError("signature base contains non-ASCII characters") from None
    return _Pending(key_id, "rfc9421", key_type, signature.value, (message,))


def _unusable_signature(
    label: str, member: sf.Member, signatures: dict[str, sf.Member]
) -> str | None:
    """Return why the labelled signature cannot be checked, or None if it can."""
    if not isinstance(member, sf.InnerList):
        return f"Signature-Input {label!r} is not an inner list"
    signature = signatures.get(label)
    if not isinstance(signature, sf.Item) or not isinstance(signature.value, bytes):
        return f"Signature has no byte sequence for label {label!r}"
    alg = member.params.get("alg")
    if alg is not None and (not isinstance(alg, str) or alg not in _RFC9421_ALGORITHMS):
        return f"unsupported algorithm {str(alg)[:40]!r}"
    key_id = member.params.get("keyid")
    if not isinstance(key_id, str) or not key_id:
        return f"Signature-Input {label!r} has no keyid"
    return None


def _component_value(name: str, method: str, target: _Target, lower: dict[str, str]) -> str:
    """Derive one covered component's value (RFC 9421 sections 2.1 and 2.2)."""
    if name in _DERIVED:
        return _DERIVED[name](method, target)
    if name.startswith("@"):
        raise SignatureError(f"unsupported component {name[:40]!r}")
    if name != name.lower():
        raise SignatureError(f"component {name[:40]!r} must be lowercase")
    value = lower.get(name)
    if value is None:
        raise SignatureError(f"signed header {name[:40]!r} is missing")
    if name == "host":
        _check_signed_host(value, target)
    # Section 2.1: trim, and unfold obsolete line folding; any other line break is an error.
    value = _OBS_FOLD.sub(" ", value).strip(" \t")
    if "\n" in value or "\r" in value:
        raise SignatureError(f"header {name[:40]!r} contains a line break")
    return value


def _check_content_digest(value: str, body: bytes) -> None:
    """Check an RFC 9530 Content-Digest: every sha-256/sha-512 member must match the body."""
    if len(value) > MAX_DIGEST_HEADER:
        raise SignatureError(f"Content-Digest header is longer than {MAX_DIGEST_HEADER} characters")
    checked = False
    for algorithm, member in _parse_sf_dictionary(value, "Content-Digest").items():
        hasher = _CONTENT_DIGESTS.get(algorithm)
        if hasher is None:
            continue
        if not isinstance(member, sf.Item) or not isinstance(member.value, bytes):
            raise SignatureError("Content-Digest header is malformed")
        if not hmac.compare_digest(member.value, hasher(body).digest()):
            raise SignatureError("Content-Digest header does not match the body")
        checked = True
    if not checked:
        raise SignatureError("Content-Digest header has no sha-256 or sha-512 digest")


def _rfc9421_base(values: Mapping[str, str], serialized_params: str) -> str:
    """Build the signature base (RFC 9421 section 2.5); component names are already valid."""
    lines = [f"{sf.serialize_bare_item(name)}: {value}" for name, value in values.items()]
    lines.append(f'"@signature-params": {serialized_params}')
    return "\n".join(lines)


def _parse_sf_dictionary(raw: str, header: str) -> dict[str, sf.Member]:
    try:
        return sf.parse_dictionary(raw)
    except sf.StructuredFieldError as exc:
        raise SignatureError(f"{header} header is malformed: {exc}") from None


def _signature_matches(pending: _Pending, public_key: PublicKey) -> bool:
    """Check the signature against each candidate base; an algorithm/key mismatch fails."""
    is_ed25519 = isinstance(public_key, ed25519.Ed25519PublicKey)
    if pending.key_type is not None and pending.key_type != ("ed25519" if is_ed25519 else "rsa"):
        return False
    for message in pending.messages:
        try:
            if isinstance(public_key, ed25519.Ed25519PublicKey):
                public_key.verify(pending.signature, message)
            else:
                public_key.verify(pending.signature, message, _PKCS1, _SHA256)
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def _sign(private_key: PrivateKey, message: bytes) -> bytes:
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(message)
    return private_key.sign(message, _PKCS1, _SHA256)


def _split_url(url: str) -> _Target:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise SignatureError("request URL is malformed") from None
    scheme = parts.scheme.lower()
    if not scheme or not parts.hostname:
        raise SignatureError("request URL must be absolute")
    authority = parts.netloc.rpartition("@")[2].lower()
    if port is not None and port == _DEFAULT_PORTS.get(scheme):
        authority = authority.rsplit(":", 1)[0]
    return _Target(scheme, authority, parts.path or "/", parts.query or None)


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _parse_http_date(value: str | None) -> datetime:
    if value is None:
        raise SignatureError("Date header is signed but missing")
    if len(value) > MAX_DATE_HEADER:
        raise SignatureError("Date header is too long")
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        raise SignatureError("Date header is not a valid HTTP date") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _decode_base64(value: str, what: str) -> bytes:
    try:
        decoded = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"{what} is not valid base64") from None
    if not decoded:
        raise SignatureError(f"{what} is empty")
    return decoded


def _latin1(text: str) -> bytes:
    # ASGI servers decode header bytes as ISO-8859-1; encoding back recovers the wire bytes.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        raise SignatureError("signed headers contain characters outside ISO-8859-1") from None


def _clip(text: str, limit: int = 200) -> str:
    """Quote attacker-supplied text for a reason message, cut to a readable length."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _describe(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    return f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"
