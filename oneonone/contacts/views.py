"""Address book pages: list and search, add, edit, delete, photos, CSV import."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.validators import ValidationError as CSRFError

from ..exceptions import NotFoundError, ValidationError
from ..forms import apply_errors
from ..pagination import clamp_page_args
from ..wording import megabytes, plural
from . import importing, photos, services
from .forms import ContactForm, DeleteContactForm, ImportForm, fields_before_the_file
from .models import Contact

bp = Blueprint("contacts", __name__)

SAMPLE_CSV = "first_name,last_name,email\nAda,Lovelace,ada@example.com\nAlan,Turing,alan@example.com\n"


@bp.app_template_global("contact_image_url")
def _contact_image_url(contact: Contact) -> str | None:
    return photos.contact_image_url(contact)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_error):
    if request.endpoint in ("contacts.create", "contacts.edit") and request.method == "POST":
        page = _contact_form_with_photo_too_large()
        if page is not None:
            return page
    if request.endpoint == "contacts.import_csv":
        limit, what = importing.CSV_MAX_BYTES, "A CSV file"
    else:
        limit, what = current_app.config["CONTACT_IMAGE_MAX_BYTES"], "A photo"
    flash(f"That upload is too large. {what} can be at most {megabytes(limit)}. "
          "Nothing was saved.", "error")
    return redirect(request.path if request.method == "POST" else url_for("contacts.index"))


def _contact_form_with_photo_too_large():
    """The contact form again, with what was typed and the photo's limit beside it, when a photo made
    the request too large to read; None (the notice and an empty form) if the form cannot be trusted."""
    typed = fields_before_the_file(request)
    if typed is None or not current_user.is_authenticated:
        return None
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(typed.get("csrf_token"))
        except CSRFError:
            return None  # a forged form is never shown back, filled in, to the signed-in owner
    contact = None
    if request.endpoint == "contacts.edit":
        try:
            contact = services.get_contact(current_user, request.view_args["contact_id"])
        except NotFoundError:
            return None
    form = ContactForm(formdata=typed, obj=contact)
    form.image.errors = [photos.too_large_problem()]
    return render_template("contacts/form.html", form=form, contact=contact), 413


@bp.route("/")
@login_required
def index():
    search = (request.args.get("q") or "").strip()[: services.SEARCH_MAX]
    page_number, per_page = clamp_page_args(request.args.get("page"), request.args.get("per_page"))
    page = services.list_contacts(current_user, search=search or None, page=page_number, per_page=per_page)
    if not page.items and page.page > 1 and page.total:
        return redirect(url_for("contacts.index", page=page.pages, **({"q": search} if search else {})))
    counts = services.invitation_counts(page.items)
    return render_template("contacts/index.html", page=page, search=search, counts=counts)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    form = ContactForm()
    if form.validate_on_submit():
        try:
            contact = services.create_contact(
                current_user, first_name=form.first_name.data, last_name=form.last_name.data,
                email=form.email.data, image=form.image.data,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash(f"{contact.full_name} was added to your contacts.", "success")
            return redirect(url_for("contacts.index"))
    return render_template("contacts/form.html", form=form, contact=None), (400 if form.errors else 200)


@bp.route("/<id:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id: int):
    contact = services.get_contact(current_user, contact_id)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        changes = {name: getattr(form, name).data for name in ("first_name", "last_name", "email")}
        try:
            services.update_contact(contact, changes, image=form.image.data,
                                    remove_image=form.remove_image.data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            flash(f"{contact.full_name} was saved.", "success")
            return redirect(url_for("contacts.index"))
    status = 400 if form.errors else 200
    return render_template("contacts/form.html", form=form, contact=contact), status


@bp.route("/<id:contact_id>/delete", methods=["GET", "POST"])
@login_required
def delete(contact_id: int):
    contact = services.get_contact(current_user, contact_id)
    form = DeleteContactForm()
    if form.validate_on_submit():
        name = contact.full_name
        services.delete_contact(contact)
        flash(f"{name} was deleted.", "info")
        return redirect(url_for("contacts.index"))
    usage = services.contact_usage(contact)
    return render_template("contacts/delete.html", form=form, contact=contact, usage=usage)


@bp.route("/<id:contact_id>/photo")
@login_required
def photo(contact_id: int):
    # Signed-in sessions only; with an API token the photo is GET /api/contacts/<id>/photo.
    return photos.send_photo(services.get_contact(current_user, contact_id))


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_csv():
    form = ImportForm()
    summary = None
    if form.validate_on_submit():
        upload = form.file.data
        if upload is None:
            form.file.errors = ["Choose a CSV file to import."]
        else:
            try:
                result = importing.import_contacts_csv(
                    current_user, upload.stream.read(importing.CSV_MAX_BYTES + 1),
                    existing=importing.Existing(form.existing.data),
                )
            except ValidationError as error:
                apply_errors(form, error)
                summary = error.message
            else:
                flash(f"Imported {plural(result.total, 'contact')}: {len(result.added)} added, "
                      f"{len(result.updated)} updated, {result.skipped} skipped.", "success")
                return redirect(url_for("contacts.index"))
    status = 400 if form.errors else 200
    return render_template("contacts/import.html", form=form, summary=summary), status


@bp.route("/import/sample.csv")
@login_required
def import_sample():
    return Response(
        SAMPLE_CSV, mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=contacts-sample.csv"},
    )
