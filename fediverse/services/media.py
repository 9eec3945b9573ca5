"""Uploaded images: checked, resized and re-encoded with Pillow, stored under the media folder.

Re-encoding strips metadata (camera, GPS) and anything smuggled after the image data; the
decompression-bomb guard and a pixel cap bound the work one upload can cause.
"""

from __future__ import annotations

import asyncio
import io
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageOps, UnidentifiedImageError

from fediverse.errors import PayloadTooLarge, Unprocessable
from fediverse.services.context import Context
from fediverse.store.tables import Media

Purpose = Literal["avatar", "header"]
ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
MAX_PIXELS = 40_000_000
# (width, height) each purpose is cropped to, as Mastodon does (square avatars, 3:1 headers).
SIZES: dict[str, tuple[int, int]] = {"avatar": (400, 400), "header": (1500, 500)}
FILE_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}\.(png|jpg)$")


@dataclass(frozen=True)
class StoredImage:
    file_name: str
    media_type: str
    width: int
    height: int
    size_bytes: int


def process_image(data: bytes, purpose: Purpose, max_bytes: int) -> tuple[bytes, StoredImage]:
    """Check, crop to the purpose's size and re-encode an upload (runs in a thread)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"Images may be at most {max_bytes // 1_048_576} MB.")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format or ""
            if kind not in ACCEPTED_FORMATS:
                raise Unprocessable("Upload a JPEG, PNG, WebP or GIF image.")
            if probe.width * probe.height > MAX_PIXELS:
                raise Unprocessable("That image has too many pixels; use a smaller one.")
            probe.seek(0)
            image = ImageOps.exif_transpose(probe.convert("RGBA"))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as exc:
        raise Unprocessable("That file is not an image we can read; upload a JPEG or PNG.") from exc
    fitted = ImageOps.fit(image, SIZES[purpose], method=Image.Resampling.LANCZOS)
    # Any pixel less than fully opaque means the image needs an alpha channel (PNG).
    has_alpha = fitted.getchannel("A").getextrema() != (255, 255)
    out = io.BytesIO()
    if has_alpha:
        fitted.save(out, format="PNG", optimize=True)
        extension, media_type = "png", "image/png"
    else:
        fitted.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
        extension, media_type = "jpg", "image/jpeg"
    encoded = out.getvalue()
    name = f"{secrets.token_urlsafe(18)}.{extension}"
    return encoded, StoredImage(name, media_type, fitted.width, fitted.height, len(encoded))


async def store_image(ctx: Context, owner_id: int, purpose: Purpose, data: bytes) -> str:
    """Store an uploaded image for an actor and return its public URL."""
    encoded, stored = await asyncio.to_thread(
        process_image, data, purpose, ctx.config.media.max_upload_bytes
    )
    folder = Path(ctx.config.media.directory)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread((folder / stored.file_name).write_bytes, encoded)
    async with ctx.sessions() as session:
        session.add(
            Media(
                owner_id=owner_id,
                purpose=purpose,
                file_name=stored.file_name,
                media_type=stored.media_type,
                width=stored.width,
                height=stored.height,
                size_bytes=stored.size_bytes,
            )
        )
        await session.commit()
    return media_url(ctx, stored.file_name)


def media_url(ctx: Context, file_name: str) -> str:
    return ctx.uris.absolute(f"/media/{file_name}")


def media_path(ctx: Context, file_name: str) -> Path | None:
    """Return the file for a media name, or None for anything that is not one of ours."""
    if not FILE_NAME.match(file_name):
        return None
    path = Path(ctx.config.media.directory) / file_name
    return path if path.is_file() else None
