"""Key generation, PEM loading and FEP-521a multibase decoding."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from fediverse.activitypub import keys
from fediverse.activitypub.keys import (
    KeyFormatError,
    generate_rsa_keypair,
    load_private_key,
    load_private_key_cached,
    load_public_key,
    load_public_key_cached,
    public_key_from_multibase,
)

# RFC 9421 appendix B.1.1 "test-key-rsa": PKCS#1 PEM, as some servers publish.
RFC9421_RSA_PUBLIC_PEM = """-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----
"""
# The modulus of the same key, from the RFC's JWK rendering ("n").
RFC9421_RSA_JWK_N = (
    "hAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3"
    "MOEt8uA5txSKobBpKDeBLOsdJKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd_QBwVW9OwNFhekro3RtlinV0a75"
    "jfZgkne_YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0PuKxI4T-HIaFpv8-rdV6e"
    "UgOrB2xeI1dSFFn_nnv5OoZJEIB-VmuKn3DCUcCZSFlQPSXSfBDiUGhwOw76WuSSsf1D4b_vLoJ10w"
)
# RFC 9421 appendix B.1.4 "test-key-ed25519" and its JWK "x" / "d".
RFC9421_ED25519_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""
RFC9421_ED25519_PRIVATE_PEM = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC9421_ED25519_JWK_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
RFC9421_ED25519_JWK_D = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"

# did:key test vectors (w3c-ccg/did-method-key test-vectors/ed25519-x25519.json): the key
# derived from each 32-byte seed and its multibase form.
DID_KEY_ED25519 = [
    ("00" * 32, "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"),
    ("00" * 31 + "01", "z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG"),
    ("00" * 31 + "02", "z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf"),
]
# did:key RSA-2048 vector (test-vectors/rsa.json): multicodec rsa-pub (0x1205) + PKCS#1 DER.
DID_KEY_RSA = (
    "z4MXj1wBzi9jUstyPMS4jQqB6KdJaiatPkAtVtGc6bQEQEEsKTic4G7Rou3iBf9vPmT5dbkm9qsZsuVNjq8HCuW1w24nhB"
    "FGkRE4cd2Uf2tfrB3N7h4mnyPp1BF3ZttHTYv3DLUPi1zMdkULiow3M1GfXkoC6DoxDUm1jmN6GBj22SjVsr6dxezRVQc"
    "7aj9TxE7JLbMH1wh5X3kA58H3DFW8rnYMakFGbca5CB2Jf6CnGQZmL7o5uJAdTwXfy2iiiyPxXEGerMhHwhjTA1mKYobyk"
    "2CpeEcmvynADfNZ5MBvcCS7m3XkFCMNUYBS9NQ3fze6vMSUPsNa6GVYmKx2x6JrdEjCk3qRMMmyjnjCMfR4pXbRMZa3i"
)
DID_KEY_RSA_JWK_N = (
    "sbX82NTV6IylxCh7MfV4hlyvaniCajuP97GyOqSvTmoEdBOflFvZ06kR_9D6ctt45Fk6hskfnag2GG69NALVH2o4RCR6"
    "tQiLRpKcMRtDYE_thEmfBvDzm_VVkOIYfxu-Ipuo9J_S5XDNDjczx2v-3oDh5-CIHkU46hvFeCvpUS-L8TJSbgX0kjVk"
    "_m4eIb9wh63rtmD6Uz_KBtCo5mmR4TEtcLZKYdqMp3wCjN-TlgHiz_4oVXWbHUefCEe8rFnX1iQnpDHU49_SaXQoud1j"
    "CaexFn25n-Aa8f8bc5Vm-5SeRwidHa6ErvEhTvf1dz6GoNPp2iRvm-wJ1gxwWJEYPQ"
)


def b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def encode_base58btc(data: bytes) -> str:
    """Encode bytes as base58btc; used only to build malformed inputs (no leading zeros)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number, digits = int.from_bytes(data, "big"), ""
    while number:
        number, remainder = divmod(number, 58)
        digits = alphabet[remainder] + digits
    return digits


def raw_public(key: ed25519.Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def test_generate_rsa_keypair_is_rsa_2048_in_pkcs8_and_spki() -> None:
    pair = generate_rsa_keypair()
    assert pair.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert pair.public_pem.startswith("-----BEGIN PUBLIC KEY-----")
    private_key = load_private_key(pair.private_pem)
    public_key = load_public_key(pair.public_pem)
    assert isinstance(private_key, rsa.RSAPrivateKey)
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert private_key.key_size == 2048
    assert public_key.public_numbers().e == 65537
    assert private_key.public_key().public_numbers() == public_key.public_numbers()
    assert generate_rsa_keypair().private_pem != pair.private_pem


def test_load_public_key_accepts_pkcs1_rsa_public_key_pem() -> None:
    key = load_public_key(RFC9421_RSA_PUBLIC_PEM)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.public_numbers().n == int.from_bytes(b64url(RFC9421_RSA_JWK_N), "big")
    assert key.public_numbers().e == 65537


def test_load_ed25519_keys_from_rfc9421_appendix() -> None:
    public_key = load_public_key(RFC9421_ED25519_PUBLIC_PEM)
    private_key = load_private_key(RFC9421_ED25519_PRIVATE_PEM)
    assert isinstance(public_key, ed25519.Ed25519PublicKey)
    assert isinstance(private_key, ed25519.Ed25519PrivateKey)
    assert raw_public(public_key) == b64url(RFC9421_ED25519_JWK_X)
    assert private_key.private_bytes_raw() == b64url(RFC9421_ED25519_JWK_D)


def test_load_private_key_accepts_pkcs1_rsa_private_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert pem.startswith("-----BEGIN RSA PRIVATE KEY-----")
    loaded = load_private_key(pem)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert loaded.private_numbers() == key.private_numbers()


def test_pem_with_surrounding_whitespace_loads() -> None:
    assert isinstance(
        load_public_key("\n  " + RFC9421_ED25519_PUBLIC_PEM + "\n\n"), ed25519.Ed25519PublicKey
    )


@pytest.mark.parametrize(
    "pem",
    [
        "",
        "garbage",
        "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n",
        RFC9421_ED25519_PUBLIC_PEM.replace("J", "é"),
        "A" * 100_000,
    ],
)
def test_load_public_key_rejects_garbage(pem: str) -> None:
    with pytest.raises(KeyFormatError):
        load_public_key(pem)


@pytest.mark.parametrize("pem", ["", "garbage", RFC9421_ED25519_PUBLIC_PEM, "x" * 100_000])
def test_load_private_key_rejects_garbage(pem: str) -> None:
    with pytest.raises(KeyFormatError):
        load_private_key(pem)


def test_key_format_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not a valid PEM public key"):
        load_public_key("garbage")


def test_unsupported_key_types_are_rejected_with_their_name() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    private_pem = ec_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(KeyFormatError, match="unsupported private key type"):
        load_private_key(private_pem)
    with pytest.raises(KeyFormatError, match="unsupported public key type"):
        load_public_key(public_pem)


def test_encrypted_private_key_is_rejected() -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    with pytest.raises(KeyFormatError, match="encrypted"):
        load_private_key(pem)


def test_cached_loaders_parse_each_pem_once() -> None:
    load_public_key_cached.cache_clear()
    load_private_key_cached.cache_clear()
    first = load_public_key_cached(RFC9421_RSA_PUBLIC_PEM)
    assert load_public_key_cached(RFC9421_RSA_PUBLIC_PEM) is first
    assert load_public_key_cached.cache_info().hits == 1
    private = load_private_key_cached(RFC9421_ED25519_PRIVATE_PEM)
    assert load_private_key_cached(RFC9421_ED25519_PRIVATE_PEM) is private
    with pytest.raises(KeyFormatError):
        load_public_key_cached("garbage")


@pytest.mark.parametrize(("seed", "multibase"), DID_KEY_ED25519)
def test_public_key_from_multibase_ed25519_did_key_vectors(seed: str, multibase: str) -> None:
    expected = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)).public_key()
    key = public_key_from_multibase(multibase)
    assert isinstance(key, ed25519.Ed25519PublicKey)
    assert raw_public(key) == raw_public(expected)


def test_public_key_from_multibase_rsa_did_key_vector() -> None:
    key = public_key_from_multibase(DID_KEY_RSA)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.public_numbers().n == int.from_bytes(b64url(DID_KEY_RSA_JWK_N), "big")
    assert key.public_numbers().e == 65537


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("", b""),
        ("1", b"\x00"),
        ("111", b"\x00\x00\x00"),
        ("2g", b"a"),
        ("StV1DL6CwTryKyV", b"hello world"),
        ("11StV1DL6CwTryKyV", b"\x00\x00hello world"),
    ],
)
def test_base58btc_decoder(encoded: str, decoded: bytes) -> None:
    assert keys._decode_base58btc(encoded) == decoded


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "non-empty"),
        ("f6d6b6579", "unsupported multibase"),
        ("z6Mk0OIl", "invalid base58btc character"),
        ("zStV1DL6CwTryKyV", "unsupported multicodec"),
        ("z" + encode_base58btc(b"\xed\x01" + b"\x07" * 31), "32 bytes"),
        ("z" + encode_base58btc(b"\xed\x01" + b"\x07" * 33), "32 bytes"),
        ("z" + "2" * 5000, "longer than"),
    ],
)
def test_public_key_from_multibase_rejects_bad_values(value: str, message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        public_key_from_multibase(value)


def test_public_key_from_multibase_rejects_rsa_prefix_with_garbage_der() -> None:
    # 0x85 0x24 is rsa-pub; what follows is not DER.
    with pytest.raises(KeyFormatError, match="DER"):
        public_key_from_multibase("z" + encode_base58btc(b"\x85\x24garbage"))


def test_public_key_from_multibase_rejects_rsa_prefix_holding_another_key_type() -> None:
    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(KeyFormatError, match="another key type"):
        public_key_from_multibase("z" + encode_base58btc(b"\x85\x24" + der))
