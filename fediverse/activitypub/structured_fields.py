"""Parse and serialize the subset of RFC 8941 Structured Fields that HTTP signatures use.

RFC 9421 (Signature-Input, Signature) and RFC 9530 (Content-Digest) carry Dictionaries
whose members are Items or Inner Lists with parameters. This module covers exactly that:
Dictionaries, Inner Lists, Parameters and the bare item types Integer, Decimal, String,
Token, Byte Sequence and Boolean. Lists as a top-level type, Dates and Display Strings
(RFC 9651) are not needed and not supported.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "BareItem",
    "InnerList",
    "Item",
    "Member",
    "Params",
    "StructuredFieldError",
    "Token",
    "parse_dictionary",
    "serialize_bare_item",
    "serialize_dictionary",
    "serialize_inner_list",
    "serialize_item",
]


class StructuredFieldError(ValueError):
    """Signal a field value that is not valid RFC 8941 syntax."""


class Token(str):
    """Hold a Token, kept distinct from String so it serializes without quotes."""

    __slots__ = ()


BareItem = int | Decimal | str | bytes | bool
Params = dict[str, BareItem]


@dataclass(frozen=True, slots=True)
class Item:
    """Hold a bare item with its parameters."""

    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InnerList:
    """Hold an Inner List of items with the list's own parameters."""

    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


Member = Item | InnerList

# RFC 8941 section 3.1.2: key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
# RFC 8941 section 3.3.4: token = ( ALPHA / "*" ) *( tchar / ":" / "/" )
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_STRING_SAFE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


class _Parser:
    """Walk a field value left to right, following the algorithms in RFC 8941 section 4.2."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> StructuredFieldError:
        return StructuredFieldError(f"{what} at offset {self.pos}")

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def dictionary(self) -> dict[str, Member]:
        # RFC 8941 section 4.2.2.
        result: dict[str, Member] = {}
        self.skip(" ")
        while self.pos < len(self.text):
            name = self.key()
            if name in result:
                # The RFC lets the last duplicate win; for signature metadata that invites
                # confusion between what two parsers see, so refuse it outright.
                raise self.fail(f"duplicate key {name!r}")
            member: Member
            if self.peek() == "=":
                self.pos += 1
                member = self.item_or_inner_list()
            else:
                member = Item(True, self.params())
            result[name] = member
            self.skip(" \t")
            if self.pos >= len(self.text):
                return result
            if self.peek() != ",":
                raise self.fail("expected ','")
            self.pos += 1
            self.skip(" \t")
            if self.pos >= len(self.text):
                raise self.fail("trailing comma")
        return result

    def item_or_inner_list(self) -> Member:
        if self.peek() == "(":
            return self.inner_list()
        return Item(self.bare_item(), self.params())

    def inner_list(self) -> InnerList:
        # RFC 8941 section 4.2.1.2.
        self.pos += 1
        items: list[Item] = []
        while self.pos < len(self.text):
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(Item(self.bare_item(), self.params()))
            if self.peek() not in (" ", ")"):
                raise self.fail("expected ' ' or ')' in inner list")
        raise self.fail("unterminated inner list")

    def params(self) -> Params:
        # RFC 8941 section 4.2.3.2.
        result: Params = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            name = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            result[name] = value
        return result

    def key(self) -> str:
        match = _KEY.match(self.text, self.pos)
        if match is None:
            raise self.fail("expected a key")
        self.pos = match.end()
        return match.group()

    def bare_item(self) -> BareItem:
        # RFC 8941 section 4.2.3.1.
        char = self.peek()
        if char == "-" or "0" <= char <= "9":
            return self.number()
        if char == '"':
            return self.string()
        if char == ":":
            return self.byte_sequence()
        if char == "?":
            return self.boolean()
        if char == "*" or ("A" <= char <= "Z") or ("a" <= char <= "z"):
            match = _TOKEN.match(self.text, self.pos)
            assert match is not None  # the first character always matches
            self.pos = match.end()
            return Token(match.group())
        raise self.fail("unexpected character" if char else "unexpected end of input")

    def number(self) -> int | Decimal:
        # RFC 8941 section 4.2.4: at most 15 integer digits, or 12.3 for decimals.
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise self.fail("malformed number")
        raw = match.group()
        digits = raw.lstrip("-")
        if match.group(1) is None:
            if len(digits) > 15:
                raise self.fail("integer too long")
            self.pos = match.end()
            return int(raw)
        whole, _, fraction = digits.partition(".")
        if len(whole) > 12 or len(fraction) > 3:
            raise self.fail("decimal too long")
        self.pos = match.end()
        return Decimal(raw)

    def string(self) -> str:
        # RFC 8941 section 4.2.5: printable ASCII; only \" and \\ may be escaped.
        self.pos += 1
        chunks: list[str] = []
        while True:
            match = _STRING_SAFE.match(self.text, self.pos)
            assert match is not None  # the pattern accepts the empty string
            chunks.append(match.group())
            self.pos = match.end()
            char = self.peek()
            if char == '"':
                self.pos += 1
                return "".join(chunks)
            if char == "\\":
                escaped = self.text[self.pos + 1 : self.pos + 2]
                if escaped not in ('"', "\\"):
                    raise self.fail("invalid escape in string")
                chunks.append(escaped)
                self.pos += 2
                continue
            raise self.fail("unterminated string" if not char else "invalid character in string")

    def byte_sequence(self) -> bytes:
        # RFC 8941 section 4.2.7; padding is optional on input (parsers SHOULD NOT fail).
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            raise self.fail("unterminated byte sequence")
        raw = self.text[self.pos + 1 : end]
        if _BASE64.fullmatch(raw) is None:
            raise self.fail("invalid base64 in byte sequence")
        unpadded = raw.rstrip("=")
        try:
            value = base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise self.fail("invalid base64 in byte sequence") from None
        self.pos = end + 1
        return value

    def boolean(self) -> bool:
        flag = self.text[self.pos + 1 : self.pos + 2]
        if flag not in ("0", "1"):
            raise self.fail("invalid boolean")
        self.pos += 2
        return flag == "1"


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse a Dictionary field value (RFC 8941 section 4.2.2), keeping member order."""
    parser = _Parser(text)
    result = parser.dictionary()
    parser.skip(" ")
    if parser.pos != len(text):
        raise parser.fail("unexpected trailing characters")
    return result


def serialize_bare_item(value: BareItem) -> str:
    """Serialize one bare item per RFC 8941 section 4.1.3.1."""
    # Fast path for the common case: a plain String needing no escapes (Token is a subclass).
    if type(value) is str and _STRING_SAFE.fullmatch(value) is not None:
        return f'"{value}"'
    # bool before int: bool is a subclass of int.
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        if abs(value) > 999_999_999_999_999:
            raise StructuredFieldError("integer out of range")
        return str(value)
    if isinstance(value, Decimal):
        text = f"{value.quantize(Decimal('0.001')):f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, Token):
        if _TOKEN.fullmatch(value) is None:
            raise StructuredFieldError(f"invalid token {value!r}")
        return str(value)
    if _STRING_SAFE.fullmatch(value.replace('"', "").replace("\\", "")) is None:
        raise StructuredFieldError("string holds characters outside printable ASCII")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Params) -> str:
    """Serialize parameters per RFC 8941 section 4.1.1.2 (a true value omits '=?1')."""
    parts: list[str] = []
    for name, value in params.items():
        if _KEY.fullmatch(name) is None:
            raise StructuredFieldError(f"invalid key {name!r}")
        parts.append(f";{name}" if value is True else f";{name}={serialize_bare_item(value)}")
    return "".join(parts)


def serialize_item(item: Item) -> str:
    """Serialize an Item with its parameters."""
    return serialize_bare_item(item.value) + serialize_params(item.params)


def serialize_inner_list(inner: InnerList) -> str:
    """Serialize an Inner List per RFC 8941 section 4.1.1.1."""
    return "(" + " ".join(map(serialize_item, inner.items)) + ")" + serialize_params(inner.params)


def serialize_dictionary(members: dict[str, Member]) -> str:
    """Serialize a Dictionary per RFC 8941 section 4.1.2."""
    parts: list[str] = []
    for name, member in members.items():
        if _KEY.fullmatch(name) is None:
            raise StructuredFieldError(f"invalid key {name!r}")
        if isinstance(member, InnerList):
            parts.append(f"{name}={serialize_inner_list(member)}")
        elif member.value is True:
            parts.append(name + serialize_params(member.params))
        else:
            parts.append(f"{name}={serialize_item(member)}")
    return ", ".join(parts)
