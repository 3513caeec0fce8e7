"""Contact photos are decoded and saved again: no metadata, nothing after the image, upright.

Before, a photo was stored byte for byte: a phone picture kept its GPS position in the EXIF block, a
PNG kept its text chunks and whatever was appended after IEND (a polyglot file, served from our
origin), and a portrait JPEG whose pixels lie sideways relied on the viewer to read the orientation.
"""

from __future__ import annotations

import io
import os

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image, ImageCms
from PIL.PngImagePlugin import PngInfo
from werkzeug.datastructures import FileStorage

from oneonone.contacts.models import Contact

GOOD = {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
TRAILER = b"<script>alert('polyglot')</script>PK\x03\x04"
SECRET = "51.5007N -0.1246W taken at home"


def _two_halves(size: tuple[int, int], first: str, second: str, *, vertical: bool = False) -> Image.Image:
    """An RGB image: `first` colour on the left (or top) half, `second` on the other."""
    image = Image.new("RGB", size, second)
    width, height = size
    image.paste(Image.new("RGB", (width, height // 2) if vertical else (width // 2, height), first), (0, 0))
    return image


def png_with_extras() -> bytes:
    """A PNG with a tEXt chunk, an iTXt chunk, an sRGB ICC profile and bytes after IEND."""
    info = PngInfo()
    info.add_text("Comment", SECRET)
    info.add_itxt("Description", SECRET)
    buffer = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    _two_halves((16, 8), "red", "blue").save(buffer, "PNG", pnginfo=info, icc_profile=icc)
    return buffer.getvalue() + TRAILER


def _exif_with_gps(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.ImageDescription] = SECRET
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 2.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 28.6)
    return exif


def sideways_jpeg() -> bytes:
    """A 40x20 JPEG, red left and blue right, that says "rotate 90° clockwise" (orientation 6), with
    GPS EXIF and a comment: shown upright it is 20x40, red on top."""
    buffer = io.BytesIO()
    _two_halves((40, 20), "red", "blue").save(buffer, "JPEG", quality=95, exif=_exif_with_gps(6),
                                              comment=SECRET.encode())
    return buffer.getvalue() + TRAILER


def webp_with_exif() -> bytes:
    buffer = io.BytesIO()
    _two_halves((16, 8), "red", "blue").save(buffer, "WEBP", quality=95, exif=_exif_with_gps(1),
                                             xmp=f"<x:xmpmeta>{SECRET}</x:xmpmeta>".encode())
    return buffer.getvalue()


def _upload(owner_client, data: bytes, name: str, url: str = "/contacts/new", fields: dict | None = None):
    image = FileStorage(io.BytesIO(data), filename=name, content_type="application/octet-stream")
    response = owner_client.post(url, data={**(fields or GOOD), "image": image})
    assert response.status_code == 302, response.get_data(as_text=True)


def _stored(app, db) -> tuple[Contact, bytes]:
    contact = db.session.scalar(sa.select(Contact))
    db.session.refresh(contact)
    with open(os.path.join(app.config["UPLOAD_FOLDER"], contact.image_filename), "rb") as handle:
        return contact, handle.read()


def _close(colour: tuple[int, ...], expected: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(colour, expected, strict=False))


def test_a_png_loses_its_text_chunks_icc_profile_and_trailing_bytes(owner_client, app, db):
    original = png_with_extras()
    assert b"tEXt" in original and b"iCCP" in original and original.endswith(TRAILER)  # the upload has them
    _upload(owner_client, original, "photo.png")
    contact, stored = _stored(app, db)
    assert contact.image_filename.endswith(".png")
    for marker in (b"tEXt", b"iTXt", b"zTXt", b"iCCP", b"eXIf", SECRET.encode(), b"script", b"PK"):
        assert marker not in stored, marker
    assert stored.endswith(b"IEND\xaeB`\x82")  # the image ends where PNG says it ends
    with Image.open(io.BytesIO(stored)) as image, Image.open(io.BytesIO(original)) as before:
        assert image.info.keys() <= {"dpi", "gamma", "srgb"} and image.text == {}
        assert image.tobytes() == before.convert(image.mode).tobytes()  # PNG: the very same pixels
    with owner_client.get(f"/contacts/{contact.id}/photo") as served:
        assert served.data == stored


def test_a_jpeg_is_turned_upright_and_loses_its_gps_exif_and_comment(owner_client, app, db):
    original = sideways_jpeg()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif()[ExifTags.Base.Orientation] == 6 and before.size == (40, 20)
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    _upload(owner_client, original, "IMG_0001.JPG")
    contact, stored = _stored(app, db)
    assert contact.image_filename.endswith(".jpg")
    for marker in (b"Exif", b"PhoneMaker", SECRET.encode(), b"script", b"PK"):
        assert marker not in stored, marker
    assert stored.endswith(b"\xff\xd9")  # nothing after the JPEG's end-of-image marker
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and image.size == (20, 40)  # portrait, as the phone meant it
        assert not image.getexif() and "comment" not in image.info and "exif" not in image.info
        rgb = image.convert("RGB")
        assert _close(rgb.getpixel((10, 5)), (255, 0, 0)) and _close(rgb.getpixel((10, 35)), (0, 0, 255))


def test_a_webp_loses_its_exif_and_xmp(owner_client, app, db):
    _upload(owner_client, webp_with_exif(), "photo.webp")
    contact, stored = _stored(app, db)
    assert contact.image_filename.endswith(".webp")
    for marker in (b"EXIF", b"XMP ", b"PhoneMaker", SECRET.encode()):
        assert marker not in stored, marker
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "WEBP" and image.size == (16, 8) and not image.getexif()


def test_a_replaced_photo_is_re_encoded_too(owner_client, app, db, owner, make_contact):
    contact = make_contact(owner=owner, **GOOD)
    _upload(owner_client, sideways_jpeg(), "new.jpg", url=f"/contacts/{contact.id}/edit", fields=GOOD)
    _, stored = _stored(app, db)
    assert b"Exif" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (20, 40)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied(owner_client, app, db, orientation):
    """The eight EXIF orientations, each drawn so that the upright picture is red on top."""
    upright = _two_halves((20, 40), "red", "blue", vertical=True)
    # The stored pixels are the upright picture under the inverse of what the orientation undoes.
    inverse = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
               4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
               7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}[orientation]
    raw = upright.transpose(inverse) if inverse is not None else upright
    buffer = io.BytesIO()
    raw.save(buffer, "PNG", exif=_exif_with_gps(orientation))
    _upload(owner_client, buffer.getvalue(), "turned.png")
    _, stored = _stored(app, db)
    with Image.open(io.BytesIO(stored)) as image:
        assert image.size == (20, 40) and not image.getexif()
        assert image.convert("RGB").tobytes() == upright.tobytes()
