"""Apply the one HTML policy of the server: what remote (and local) markup may contain.

`sanitize_html` runs once when content is stored and on anything we render; templates then
print its output as is. The policy follows what Mastodon keeps from remote statuses
(`Sanitize::Config::MASTODON_STRICT` in app/lib/sanitize_config.rb): simple text formatting,
links, lists, quotes, code, headings, and the microformat classes that mark mentions and
hashtags. Other elements are removed and their text kept, except elements whose content is
code or a foreign document (`DROPPED_WITH_CONTENT`), which vanish with their content.

Two passes bound the work. A linear scanner first reduces the input to well-nested allowed
tags and attribute names, at most `MAX_DEPTH` deep (html5lib, under bleach, is quadratic on
deep nesting, misnested formatting tags and long attribute lists). bleach then applies the
policy proper: URL schemes, attribute values, classes, link rel.

Decisions:
- Links may use http, https, mailto and xmpp. Relative and fragment-only links are dropped:
  on our pages they would point into our own site, which is not what the author meant.
- Every `<a>` gets `rel="nofollow noopener noreferrer"` (plus `tag` when the author marked a
  hashtag); `target` is always removed, so how links open is decided by our templates.
- `sup`, `sub` and `s` are kept (WordPress footnotes, chemistry, strike-through); images are
  not: media travel as attachments, never inline.
- Input beyond `MAX_HTML_CHARS` is cut before parsing; whatever the cut leaves open is closed.
"""

from __future__ import annotations

import html
import html.entities
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any, Final
from urllib.parse import urlsplit

from bleach.html5lib_shim import Filter
from bleach.sanitizer import Cleaner

__all__ = [
    "ALLOWED_CLASSES",
    "ALLOWED_SCHEMES",
    "ALLOWED_TAGS",
    "DROPPED_WITH_CONTENT",
    "LINK_REL",
    "MAX_DEPTH",
    "MAX_HTML_CHARS",
    "PLAIN_MEDIA_TYPES",
    "content_to_html",
    "html_to_text",
    "is_safe_href",
    "sanitize_html",
    "text_to_html",
]

MAX_HTML_CHARS: Final = 200_000
MAX_DEPTH: Final = 32
_MAX_HREF_CHARS: Final = 8_192

_HEADINGS: Final = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_BLOCKS_CLOSING_P: Final = _HEADINGS | {"blockquote", "ol", "p", "pre", "ul"}
ALLOWED_TAGS: Final = _BLOCKS_CLOSING_P | {
    "a", "b", "br", "code", "del", "em", "i", "li", "s", "span", "strong", "sub", "sup", "u",
}  # fmt: skip

# Attribute names worth keeping per tag; their values are checked by `_allow_attribute`.
_KEPT_ATTRIBUTES: Final = {
    "a": frozenset({"href", "rel", "class", "translate"}),
    "span": frozenset({"class", "translate"}),
    "ol": frozenset({"start", "reversed"}),
    "li": frozenset({"value"}),
}

# Elements whose content is raw text up to their end tag (HTML "rawtext"/"RCDATA" elements).
_RAW_TEXT: Final = frozenset(
    {"iframe", "noembed", "noframes", "noscript", "script", "style", "textarea", "title", "xmp"}
)
# Removed together with everything inside them. `plaintext` swallows the rest of the input.
DROPPED_WITH_CONTENT: Final = _RAW_TEXT | {
    "applet", "embed", "frame", "frameset", "math", "object", "plaintext", "select", "svg",
    "template",
}  # fmt: skip
_VOID: Final = frozenset(
    {"area", "base", "br", "col", "embed", "frame", "hr", "img", "input", "link", "meta", "wbr"}
)
# Stripped elements that separate text visually; they leave a newline so words do not merge.
_STRIPPED_BLOCKS: Final = frozenset(
    {"address", "article", "aside", "caption", "center", "dd", "details", "div", "dl", "dt"}
    | {"fieldset", "figcaption", "figure", "footer", "form", "header", "hr", "legend", "main"}
    | {"nav", "section", "summary", "table", "td", "th", "tr"}
)

ALLOWED_SCHEMES: Final = frozenset({"http", "https", "mailto", "xmpp"})

# Mastodon's microformats: h-card/u-url mark a mention, hashtag a tag link, invisible/ellipsis
# shorten long URLs, quote-inline wraps the "RE: <link>" fallback of quote posts.
ALLOWED_CLASSES: Final = frozenset(
    {"h-card", "u-url", "mention", "hashtag", "invisible", "ellipsis", "quote-inline"}
)

LINK_REL: Final = "nofollow noopener noreferrer"
_KEPT_REL_TOKENS: Final = ("tag",)

# Browsers drop C0 controls and spaces around a URL and tabs/newlines inside it before
# looking at the scheme, so "jav&#x09;ascript:" is javascript: (WHATWG URL, "basic URL parser").
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\ufeff]+")
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INTEGER = re.compile(r"-?\d{1,9}")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TAG_NAME = re.compile(r"[a-zA-Z][^\s/>]*")
_ATTRIBUTE_NAME = re.compile(r"[\s/]*([^\s/>][^\s/>=]*)?")
_EQUALS = re.compile(r"\s*=\s*")
_UNQUOTED = re.compile(r"[^\s>]*")
# A "&" that may start a character reference; group 1 is the name of a named one. bleach keeps
# only references ending in ";", so do we (html5lib_shim.match_entity).
_BARE_AMPERSAND = re.compile(
    r"&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};)(?:([A-Za-z][A-Za-z0-9]{0,31});)?"
)
_HUGE_NUMERIC_REFERENCE = re.compile(r"&#(?:[xX][0-9a-fA-F]{33,}|[0-9]{33,});?")
_PARTIAL_ENTITY = re.compile(r"&[^;]*$")
_LAST_ATTRIBUTES: Final = ("translate", "start", "reversed", "value")


def _unescape(text: str) -> str:
    """Decode character references like a browser, without choking on absurd numbers."""
    # html.unescape raises on numeric references longer than int() accepts; none is valid.
    return html.unescape(_HUGE_NUMERIC_REFERENCE.sub("\ufffd", text))


def is_safe_href(value: str) -> bool:
    """Return whether a link target is an absolute URL with a scheme we allow."""
    if not isinstance(value, str) or len(value) > _MAX_HREF_CHARS:
        return False
    normalized = _URL_IGNORED.sub("", _unescape(value))
    try:
        parts = urlsplit(normalized)
        hostname = parts.hostname
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return False
    return bool(hostname) if scheme in ("http", "https") else bool(parts.path)


# A scanned token: ("text", raw text, []) | ("start"/"end", lower-case name, attributes).
_Token = tuple[str, str, list[tuple[str, str]]]


def _scan(text: str) -> Iterator[_Token]:
    """Split HTML into text and tag tokens in linear time, dropping `DROPPED_WITH_CONTENT`.

    This is not a conforming HTML tokenizer and need not be: its output is re-serialised by
    `_normalize` and parsed again by bleach, so a misreading can only cost formatting.
    """
    pos, end = 0, len(text)
    skip_name, skip_depth = "", 0
    while pos < end:
        lt = text.find("<", pos)
        if lt < 0:
            lt = end
        if lt > pos and not skip_depth:
            yield ("text", text[pos:lt], [])
        if lt >= end:
            return
        if text.startswith("<!--", lt):
            close = text.find("-->", lt + 4)
            pos = end if close < 0 else close + 3
            continue
        name_match = _TAG_NAME.match(text, lt + 2 if text.startswith("</", lt) else lt + 1)
        if text[lt + 1 : lt + 2] in ("!", "?", "/"):
            if name_match is None or text[lt + 1] != "/":  # a declaration or bogus comment
                close = text.find(">", lt + 1)
                pos = end if close < 0 else close + 1
                continue
        elif name_match is None:  # a "<" that starts no tag is text
            if not skip_depth:
                yield ("text", "<", [])
            pos = lt + 1
            continue
        assert name_match is not None
        name = name_match.group().translate(_ASCII_LOWER)
        parsed = _scan_attributes(text, name_match.end())
        if parsed is None:  # the input ends inside a tag: like a browser, drop that tag
            return
        attributes, self_closing, pos = parsed
        kind = "end" if text[lt + 1] == "/" else "start"
        if skip_depth:
            if name == skip_name:
                skip_depth += 1 if kind == "start" else -1
            continue
        if name in DROPPED_WITH_CONTENT and kind == "start":
            if name in _RAW_TEXT:
                close_match = re.compile(rf"</{re.escape(name)}[\s/>]", re.IGNORECASE).search(
                    text, pos
                )
                close = end if close_match is None else text.find(">", close_match.start())
                pos = end if close < 0 else close + 1
            elif name == "plaintext":
                return
            elif name not in _VOID and not (self_closing and name in ("svg", "math")):
                skip_name, skip_depth = name, 1
            continue
        yield (kind, name, attributes)


def _scan_attributes(text: str, pos: int) -> tuple[list[tuple[str, str]], bool, int] | None:
    """Read a tag's attributes up to its `>`; None when the input ends first."""
    attributes: list[tuple[str, str]] = []
    end = len(text)
    while True:
        name_match = _ATTRIBUTE_NAME.match(text, pos)
        assert name_match is not None  # both parts of the pattern may match nothing
        pos = name_match.end()
        if pos >= end:
            return None
        if name_match.group(1) is None:  # only ">" can stop an attribute name here
            return attributes, text[pos - 1] == "/", pos + 1
        value = ""
        equals = _EQUALS.match(text, pos)
        if equals is not None:
            pos = equals.end()
            if pos < end and text[pos] in "\"'":
                close = text.find(text[pos], pos + 1)
                if close < 0:
                    return None
                value, pos = text[pos + 1 : close], close + 1
            else:
                unquoted = _UNQUOTED.match(text, pos)
                assert unquoted is not None
                value, pos = unquoted.group(), unquoted.end()
        attributes.append((name_match.group(1).translate(_ASCII_LOWER), value))


def _normalize(text: str) -> str:
    """Rebuild `text` from allowed tags only, well nested, escaped as bleach would escape it.

    The result is at most `MAX_HTML_CHARS` long and already in bleach's output form, so a
    second sanitisation finds nothing to change or cut (sanitising is idempotent).
    """
    out: list[str] = []
    stack: list[str] = []
    size = 0
    after_pre = False

    def close_to(name: str) -> None:
        nonlocal size
        while stack:
            top = stack.pop()
            out.append(f"</{top}>")
            size += len(top) + 3
            if top == name:
                return

    for kind, name, attributes in _scan(text):
        # Room for the end tags of everything open, so closing never breaks the budget.
        budget = MAX_HTML_CHARS - size - sum(len(tag) + 3 for tag in stack)
        piece = ""
        if kind == "text":
            # Parsers drop one newline right after <pre>; keep the author's (HTML §13.2.6.4.7).
            piece = ("\n" if after_pre and name.startswith("\n") else "") + _escape(name)
            if len(piece) > budget:
                piece = _PARTIAL_ENTITY.sub("", piece[:budget])
        elif name not in ALLOWED_TAGS:
            piece = "\n" if name in _STRIPPED_BLOCKS else ""
        elif kind == "end":
            if name in stack:
                close_to(name)
        elif name == "br":
            piece = "<br>"
        elif len(stack) < MAX_DEPTH:
            # Close what an HTML parser would close implicitly, so bleach never has to.
            if (name in _BLOCKS_CLOSING_P or name == "li") and "p" in stack:
                close_to("p")
            if name == "li" and "li" in stack[_last_list_index(stack) :]:
                close_to("li")
            if name in _HEADINGS and stack and stack[-1] in _HEADINGS:
                close_to(stack[-1])
            if name == "a" and "a" in stack:
                close_to("a")
            piece = _start_tag(name, attributes)
            budget = MAX_HTML_CHARS - size - sum(len(tag) + 3 for tag in [*stack, name])
        if len(piece) > budget:
            break
        out.append(piece)
        size += len(piece)
        if piece.startswith("<") and not piece.startswith("<br"):
            stack.append(name)
        after_pre = piece.startswith("<pre")
    while stack:
        out.append(f"</{stack.pop()}>")
    return "".join(out)


def _last_list_index(stack: list[str]) -> int:
    """Return the position of the innermost open list in the stack, or 0."""
    for index in range(len(stack) - 1, -1, -1):
        if stack[index] in ("ul", "ol"):
            return index
    return 0


def _escape(raw: str, quote: bool = False) -> str:
    """Escape raw HTML text (or an attribute value) the way bleach serialises it."""
    escaped = _BARE_AMPERSAND.sub(_escape_ampersand, raw).replace("<", "&lt;")
    return escaped.replace('"', "&quot;") if quote else escaped.replace(">", "&gt;")


def _escape_ampersand(match: re.Match[str]) -> str:
    """Keep a character reference that names a real character; escape any other `&`."""
    name = match.group(1)
    if name is not None and name + ";" in html.entities.html5:
        return match.group()
    return "&amp;" + match.group()[1:]


def _start_tag(name: str, attributes: list[tuple[str, str]]) -> str:
    """Serialise a start tag with its attributes in their final, canonical form."""
    rendered = "".join(
        f' {key}="{_escape(value, quote=True)}"'
        for key, value in _canonical_attributes(name, attributes)
    )
    return f"<{name}{rendered}>"


def _allow_attribute(tag: str, name: str, value: str) -> bool:
    """Decide whether one attribute may stay, given its raw (entity-encoded) value."""
    if name == "translate":  # Mastodon marks mentions translate="no"; harmless and kept.
        return tag in ("a", "span") and value in ("yes", "no")
    if tag == "a":
        return is_safe_href(value) if name == "href" else name in ("rel", "class")
    if tag == "span":
        return name == "class"
    if tag == "ol":
        return (name == "start" and _INTEGER.fullmatch(value) is not None) or name == "reversed"
    return tag == "li" and name == "value" and _INTEGER.fullmatch(value) is not None


def _canonical_attributes(tag: str, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Return the allowed attributes of a tag in a fixed order, classes and link rel fixed."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name not in values and _allow_attribute(tag, name, value):
            values[name] = value
    result: list[tuple[str, str]] = []
    if tag == "a":
        if "href" in values:
            result.append(("href", values["href"]))
        rel_tokens = values.get("rel", "").lower().split()
        kept = [token for token in _KEPT_REL_TOKENS if token in rel_tokens]
        result.append(("rel", " ".join([LINK_REL, *kept])))
    classes = [name for name in values.get("class", "").split() if name in ALLOWED_CLASSES]
    if classes:
        result.append(("class", " ".join(dict.fromkeys(classes))))
    result.extend((name, values[name]) for name in _LAST_ATTRIBUTES if name in values)
    return result


class _FinishFilter(Filter):  # type: ignore[misc]
    """Put the attributes bleach kept in their canonical form (classes, link rel, order)."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Yield bleach's sanitised tokens with their attributes normalised."""
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag"):
                pairs = [(name, value) for (_, name), value in (token.get("data") or {}).items()]
                token["data"] = {
                    (None, name): value
                    for name, value in _canonical_attributes(token["name"], pairs)
                }
            yield token


def _new_cleaner() -> Cleaner:
    """Build the bleach Cleaner for our policy."""
    return Cleaner(
        tags=ALLOWED_TAGS,
        attributes=_allow_attribute,
        protocols=ALLOWED_SCHEMES,
        strip=True,
        strip_comments=True,
        filters=[_FinishFilter],
    )


# A bleach Cleaner keeps parser state and is not thread-safe: one per thread.
_local = threading.local()


def sanitize_html(text: str) -> str:
    """Return `text` reduced to the HTML our policy allows; safe to render as is."""
    if not isinstance(text, str) or not text:
        return ""
    cleaner = getattr(_local, "cleaner", None)
    if cleaner is None:
        cleaner = _local.cleaner = _new_cleaner()
    return str(cleaner.clean(_normalize(text[:MAX_HTML_CHARS]))).strip()


_TEXT_BLOCKS: Final = (_BLOCKS_CLOSING_P | _STRIPPED_BLOCKS | {"li"}) - {"td", "th"}


def html_to_text(text: str) -> str:
    """Return the plain text of an HTML fragment: whitespace collapsed, paragraphs on new lines."""
    if not isinstance(text, str) or not text:
        return ""
    parts: list[str] = []
    pending_break, pending_space = 0, False
    for kind, data, _ in _scan(text[:MAX_HTML_CHARS]):
        if kind != "text":
            if data == "br" and kind == "start":
                pending_break = min(2, pending_break + 1)
            elif data in _TEXT_BLOCKS:
                pending_break = 2
            elif data in ("td", "th"):
                pending_space = True
            continue
        decoded = _unescape(data)
        words = decoded.split()
        if decoded[:1].isspace():
            pending_space = True
        for index, word in enumerate(words):
            if parts:
                if pending_break:
                    parts.append("\n" * pending_break)
                elif pending_space or index:
                    parts.append(" ")
            parts.append(word)
            pending_break, pending_space = 0, False
        if decoded[-1:].isspace():
            pending_space = True
    return _CONTROL_CHARS.sub("", "".join(parts))


# Media types whose text is shown as plain text. Markdown is among them: rendering it is the
# author's server's job, and PeerTube, the one server that sends it as `content`, means its
# line breaks literally.
PLAIN_MEDIA_TYPES: Final = frozenset({"text/markdown", "text/plain"})


def content_to_html(text: str | None, media_type: object = None) -> str:
    """Return safe HTML for a text in the given media type (HTML unless plain or markdown)."""
    if not text:
        return ""
    if isinstance(media_type, str) and media_type.split(";")[0].strip() in PLAIN_MEDIA_TYPES:
        return text_to_html(text)
    return sanitize_html(text)


# Autolinked URLs stop at whitespace, quotes and angle brackets; trailing punctuation is
# usually the sentence's, not the URL's (as in Mastodon's Twitter-text based linkifier).
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?*"
_PARAGRAPH_SPLIT = re.compile(r"\n[ \t]*\n\s*")


def text_to_html(text: str) -> str:
    """Return plain text as HTML paragraphs with line breaks and links, within our policy."""
    text = _CONTROL_CHARS.sub("", text[:MAX_HTML_CHARS].replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = []
    for paragraph in _PARAGRAPH_SPLIT.split(text.strip()):
        if paragraph.strip():
            lines = paragraph.strip("\n").split("\n")
            paragraphs.append("<p>" + "<br>".join(_linkify(line) for line in lines) + "</p>")
    return "".join(paragraphs)


def _linkify(line: str) -> str:
    """Escape one line of text, turning http(s) URLs into links."""
    out: list[str] = []
    position = 0
    for match in _URL_IN_TEXT.finditer(line):
        url = _trim_url(match.group())
        if not is_safe_href(url):
            continue
        out.append(html.escape(line[position : match.start()], quote=False))
        out.append(
            f'<a href="{html.escape(url)}" rel="{LINK_REL}">{html.escape(url, quote=False)}</a>'
        )
        position = match.start() + len(url)
    out.append(html.escape(line[position:], quote=False))
    return "".join(out)


def _trim_url(url: str) -> str:
    """Strip trailing punctuation and unbalanced closing brackets from a URL found in text."""
    while url:
        last = url[-1]
        if not (last in _TRAILING_PUNCTUATION or (last == ")" and url.count("(") < url.count(")"))):
            break
        url = url[:-1]
    return url
