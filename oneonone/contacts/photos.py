"""Contact photos on disk: which uploads are accepted, how they are re-encoded, stored and deleted.

Only pixels we decoded ourselves are stored: every upload is decoded in full and saved again in its
own format (no EXIF, GPS position, text chunks or ICC profile, nothing after the image data), under a
random name in UPLOAD_FOLDER. Files are written before the transaction commits and removed if it
rolls back; a replaced or deleted photo's file goes only once the change commits.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets

import sqlalchemy as sa
from flask import Response, current_app, send_from_directory, url_for
from PIL import Image, ImageOps
from werkzeug.datastructures import FileStorage

from ..accounts.models import User
from ..accounts.services import account_deleting
from ..exceptions import NotFoundError
from ..extensions import db
from ..transaction import after_commit
from ..validation import Problems
from ..wording import megabytes
from .models import Contact

# The format Pillow decodes, never the file name or the browser's mimetype, decides.
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
IMAGE_MIMETYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
# Below Pillow's own decompression-bomb threshold: a 2 MB contact photo never needs more.
IMAGE_MAX_PIXELS = 40_000_000
# How a photo is saved again after decoding (every upload is re-encoded, see _reencode_image).
IMAGE_SAVE_OPTIONS = {"JPEG": {"quality": 90}, "PNG": {"optimize": True}, "WEBP": {"quality": 90}}
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


# ---- serving --------------------------------------------------------------------------------

def photo_version(contact: Contact) -> str | None:
    """What a photo URL carries as `v`, or None without a photo: the stored name changes with each
    new photo, so the URL busts browser caches."""
    return contact.image_filename[:8] if contact.image_filename else None


def contact_image_url(contact: Contact) -> str | None:
    """The URL of the contact's photo page (served to its signed-in owner only), or None."""
    version = photo_version(contact)
    return None if version is None else url_for("contacts.photo", contact_id=contact.id, v=version)


def image_path(contact: Contact) -> tuple[str, str, str] | None:
    """(folder, file name, mimetype) of the contact's photo, or None."""
    name = contact.image_filename
    if not name or not _STORED_NAME.match(name):
        return None
    return _upload_folder(), name, IMAGE_MIMETYPES[os.path.splitext(name)[1]]


def send_photo(contact: Contact) -> Response:
    """The photo file for its owner (the page and the API alike): its own mimetype, cached privately
    for an hour (its URL changes with the photo); NotFoundError when the contact has none."""
    found = image_path(contact)
    if found is None:
        raise NotFoundError("This contact has no photo.")
    folder, name, mimetype = found
    response = send_from_directory(folder, name, mimetype=mimetype, max_age=3600)
    response.cache_control.public = False
    response.cache_control.private = True
    return response


# ---- reading an upload ----------------------------------------------------------------------

def _upload_folder() -> str:
    return current_app.config["UPLOAD_FOLDER"]


def _max_image_bytes() -> int:
    return int(current_app.config["CONTACT_IMAGE_MAX_BYTES"])


def read_image(problems: Problems, image: FileStorage | None) -> tuple[bytes, str] | None:
    """(bytes, extension) of an acceptable photo, or None with a problem recorded on "image"."""
    if image is None:
        return None
    limit = _max_image_bytes()
    data = image.stream.read(limit + 1)
    if not data:
        problems.add("image", "The photo file is empty.")
        return None
    if len(data) > limit:
        problems.add("image", too_large_problem())
        return None
    problem, clean, extension = _reencode_image(data)
    if problem:
        problems.add("image", problem)
        return None
    return clean, extension


def too_large_problem() -> str:
    """What the photo field says of a file over CONTACT_IMAGE_MAX_BYTES."""
    return f"The photo must be at most {megabytes(_max_image_bytes())}."


def _reencode_image(data: bytes) -> tuple[str | None, bytes, str]:
    """(problem, bytes, extension): the photo decoded in full and saved again in its own format, turned
    upright by its EXIF orientation, with no metadata (EXIF and its GPS position, text chunks, ICC)
    and nothing after the image data. Only pixels we decoded ourselves are ever stored."""
    not_image = "This file is not a JPEG, PNG or WebP image we can read."
    try:
        with Image.open(io.BytesIO(data)) as probe:
            image_format = probe.format
            width, height = probe.size
            if image_format not in IMAGE_FORMATS:
                return "Use a JPEG, PNG or WebP image.", b"", ""
            if width * height > IMAGE_MAX_PIXELS:
                return _too_many_pixels(), b"", ""
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            if image.format != image_format:
                return not_image, b"", ""
            image.load()
            _turn_upright(image)
            # Pillow writes what `info` holds (a JPEG comment, a PNG's ICC profile...): keep only the
            # transparency, which is part of the picture.
            image.info = {key: image.info[key] for key in ("transparency",) if key in image.info}
            buffer = io.BytesIO()
            image.save(buffer, image_format, **IMAGE_SAVE_OPTIONS[image_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return _too_many_pixels(), b"", ""
    except Exception:  # Pillow raises many kinds (OSError, SyntaxError, ValueError, ...) on bad data
        return not_image, b"", ""
    return None, buffer.getvalue(), IMAGE_FORMATS[image_format]


def _turn_upright(image: Image.Image) -> None:
    """Turn `image` in place as its EXIF orientation says (a phone's portrait photo stays portrait)."""
    # In place: a 40-megapixel photo is not held twice.
    with contextlib.suppress(Exception):  # a broken EXIF block: the pixels are fine, the block is dropped
        ImageOps.exif_transpose(image, in_place=True)


def _too_many_pixels() -> str:
    return f"This image has too many pixels; use one of at most {IMAGE_MAX_PIXELS // 1_000_000} megapixels."


# ---- files ----------------------------------------------------------------------------------

def store_image(data: bytes, extension: str) -> str:
    """Write the photo under a random name in the upload folder; returns the name."""
    folder = _upload_folder()
    os.makedirs(folder, exist_ok=True)
    name = secrets.token_hex(16) + extension
    with open(os.path.join(folder, name), "xb") as handle:
        handle.write(data)
    return name


def delete_image(name: str) -> None:
    """Remove a stored photo file (a name that is not one of ours is ignored)."""
    if not _STORED_NAME.match(name):
        return
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(_upload_folder(), name))


@account_deleting.connect
def _remove_photos_of_deleted_account(owner: User) -> None:
    """The owner is deleting their account: their contacts' photo files go once that commits."""
    files = list(db.session.scalars(sa.select(Contact.image_filename).where(
        Contact.owner_id == owner.id, Contact.image_filename.is_not(None))))
    if files:
        after_commit(lambda: [delete_image(name) for name in files])
