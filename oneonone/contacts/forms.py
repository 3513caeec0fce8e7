"""Contact forms. The rules live in contacts.services (shared with the API); these only render,
and read back what a form too large to parse had typed before its file (`fields_before_the_file`)."""

from __future__ import annotations

from flask import Request, current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData
from wtforms import BooleanField, EmailField, RadioField, SelectChoice, StringField, SubmitField

from ..validation import EMAIL_MAX, NAME_MAX
from .importing import Existing

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


class ContactForm(FlaskForm):
    first_name = StringField(
        "First name", render_kw={"maxlength": NAME_MAX, "required": True, "autocomplete": "off"}
    )
    last_name = StringField(
        "Last name", render_kw={"maxlength": NAME_MAX, "required": True, "autocomplete": "off"}
    )
    email = EmailField("Email", render_kw={"maxlength": EMAIL_MAX, "required": True, "autocomplete": "off"})
    image = FileField("Photo (optional)", render_kw={"accept": IMAGE_ACCEPT})
    remove_image = BooleanField("Remove the current photo")
    submit = SubmitField("Save contact")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = current_app.config["CONTACT_IMAGE_MAX_BYTES"] / (1024 * 1024)
        self.image.description = f"A JPEG, PNG or WebP image of at most {limit:g} MB."


class ImportForm(FlaskForm):
    file = FileField("CSV file", render_kw={"accept": ".csv,text/csv"},
                     description="UTF-8, at most 1 MB and 5,000 contacts.")
    existing = RadioField(
        "Contacts already in your address book",
        choices=[SelectChoice(Existing.SKIP.value, "Skip them"),
                 SelectChoice(Existing.UPDATE.value, "Update their names")],
        default=Existing.SKIP.value,
        invalid_choice_message="Choose whether to skip or update the contacts already in your address book.",
        description="Rows whose email is already one of your contacts.",
    )
    submit = SubmitField("Import contacts")


class DeleteContactForm(FlaskForm):
    submit = SubmitField("Delete contact")


# A browser sends a form's fields in page order, so the names and email come before the photo.
TYPED_FIELDS_MAX_BYTES = 64 * 1024


def fields_before_the_file(request: Request) -> MultiDict | None:
    """The text fields of a multipart form sent before its first file, read from the start of a body
    too large to parse whole (at most TYPED_FIELDS_MAX_BYTES of it); None if the body is not one."""
    length = request.content_length
    boundary = request.mimetype_params.get("boundary")
    if request.mimetype != "multipart/form-data" or not length or not boundary:
        return None  # without a Content-Length the parser may already have read part of the body
    stream = request.environ["wsgi.input"]
    budget = min(length, TYPED_FIELDS_MAX_BYTES)
    decoder = MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=TYPED_FIELDS_MAX_BYTES)
    fields: MultiDict = MultiDict()
    name, value = None, bytearray()
    try:
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                chunk = stream.read(min(8192, budget)) if budget else b""
                budget -= len(chunk)
                decoder.receive_data(chunk or None)
            elif isinstance(event, (File, Epilogue)):
                break
            elif isinstance(event, Field):
                name, value = event.name, bytearray()
            elif isinstance(event, Data) and name is not None:
                value += event.data
                if not event.more_data:
                    fields.add(name, value.decode("utf-8", "replace").replace("\x00", ""))
                    name = None
    except (ValueError, OSError, RequestEntityTooLarge):
        pass  # a cut-off or malformed body: the fields read so far are all there is
    return fields
