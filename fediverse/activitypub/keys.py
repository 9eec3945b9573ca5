"""Generate, load and cache the RSA and Ed25519 keys used to sign ActivityPub traffic.

Actors publish RSA keys as PEM (`publicKeyPem`, the W3C security vocabulary) and, since
FEP-521a, Ed25519 or RSA keys as `publicKeyMultibase`. Everything here is pure: no I/O.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

__all__ = [
    "KeyFormatError",
    "KeyPair",
    "PrivateKey",
    "PublicKey",
    "generate_rsa_keypair",
    "load_private_key",
    "load_private_key_cached",
    "load_public_key",
    "load_public_key_cached",
    "public_key_from_multibase",
]

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ed25519.Ed25519PublicKey

# A 16,384-bit RSA key is under 4 KB of PEM; anything far beyond is not a key.
_MAX_PEM_CHARS = 16_384
_MAX_MULTIBASE_CHARS = 4_096
_CACHE_SIZE = 4_096

_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(_BASE58_ALPHABET)}

# Multicodec codes as unsigned varints (https://github.com/multiformats/multicodec):
# ed25519-pub 0xed -> ed 01; rsa-pub 0x1205 -> 85 24 (FEP-521a).
_ED25519_PUB_PREFIX = b"\xed\x01"
_RSA_PUB_PREFIX = b"\x85\x24"


class KeyFormatError(ValueError):
    """Signal key material that cannot be parsed or uses an unsupported algorithm."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """Hold a freshly generated key pair as PEM text."""

    private_pem: str  # PKCS#8
    public_pem: str  # SubjectPublicKeyInfo


def generate_rsa_keypair() -> KeyPair:
    """Generate an RSA-2048 key pair (e=65537), the key every fediverse server understands."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    public_pem = private_key.public_key().public_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    return KeyPair(private_pem=private_pem.decode("ascii"), public_pem=public_pem.decode("ascii"))


def _pem_bytes(pem: str) -> bytes:
    if not isinstance(pem, str):
        raise KeyFormatError("key PEM must be a string")
    if len(pem) > _MAX_PEM_CHARS:
        raise KeyFormatError(f"key PEM is longer than {_MAX_PEM_CHARS} characters")
    try:
        return pem.strip().encode("ascii")
    except UnicodeEncodeError:
        raise KeyFormatError("key PEM contains non-ASCII characters") from None


def load_private_key(pem: str) -> PrivateKey:
    """Parse an unencrypted PEM private key (PKCS#8 or PKCS#1) that is RSA or Ed25519."""
    data = _pem_bytes(pem)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFormatError("private key is encrypted; an unencrypted key is required") from None
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a valid PEM private key: {exc}") from None
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    raise KeyFormatError(f"unsupported private key type {type(key).__name__}")


def load_public_key(pem: str) -> PublicKey:
    """Parse a PEM public key: SubjectPublicKeyInfo or PKCS#1 "RSA PUBLIC KEY"; RSA or Ed25519."""
    # cryptography reads both "BEGIN PUBLIC KEY" and "BEGIN RSA PUBLIC KEY"; some servers
    # (and RFC 9421 appendix B.1.1's test key) publish the latter.
    data = _pem_bytes(pem)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError(f"not a valid PEM public key: {exc}") from None
    return _check_public_key(key)


def _check_public_key(key: object) -> PublicKey:
    if isinstance(key, rsa.RSAPublicKey | ed25519.Ed25519PublicKey):
        return key
    raise KeyFormatError(f"unsupported public key type {type(key).__name__}")


# Keys are immutable strings and parsing one costs tens of microseconds (RSA), so the
# cached loaders let hot paths (key resolvers, delivery signing) skip re-parsing.
load_private_key_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(load_private_key)
load_public_key_cached = functools.lru_cache(maxsize=_CACHE_SIZE)(load_public_key)


def _decode_base58btc(text: str) -> bytes:
    """Decode base58 with the Bitcoin alphabet; each leading '1' stands for a zero byte."""
    number = 0
    for char in text:
        digit = _BASE58_INDEX.get(char)
        if digit is None:
            raise KeyFormatError(f"invalid base58btc character {char!r}")
        number = number * 58 + digit
    leading_zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * leading_zeros + body


def public_key_from_multibase(value: str) -> PublicKey:
    """Parse a FEP-521a `publicKeyMultibase`: base58btc ('z') multicodec Ed25519 or RSA key."""
    if not isinstance(value, str) or not value:
        raise KeyFormatError("publicKeyMultibase must be a non-empty string")
    if len(value) > _MAX_MULTIBASE_CHARS:
        raise KeyFormatError(f"publicKeyMultibase is longer than {_MAX_MULTIBASE_CHARS} chars")
    if value[0] != "z":
        raise KeyFormatError(f"unsupported multibase encoding {value[0]!r}; expected 'z'")
    raw = _decode_base58btc(value[1:])
    if raw.startswith(_ED25519_PUB_PREFIX):
        key_bytes = raw[len(_ED25519_PUB_PREFIX) :]
        if len(key_bytes) != 32:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(key_bytes)}")
        return ed25519.Ed25519PublicKey.from_public_bytes(key_bytes)
    if raw.startswith(_RSA_PUB_PREFIX):
        # The multicodec table says PKCS#1 RSAPublicKey DER; cryptography also accepts
        # SubjectPublicKeyInfo, which some implementations emit instead.
        try:
            key = serialization.load_der_public_key(raw[len(_RSA_PUB_PREFIX) :])
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError(f"not a valid DER RSA public key: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise KeyFormatError("multicodec says rsa-pub but the DER holds another key type")
        return key
    raise KeyFormatError(f"unsupported multicodec prefix 0x{raw[:2].hex()}")
