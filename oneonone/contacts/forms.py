"""Contact forms. The rules live in contacts.services (shared with the API); these only render."""

from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, EmailField, StringField, SubmitField

from ..validation import EMAIL_MAX, NAME_MAX

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
    submit = SubmitField("Import contacts")


class DeleteContactForm(FlaskForm):
    submit = SubmitField("Delete contact")
