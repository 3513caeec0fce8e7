"""Contacts: the owner's address book, and their photos."""

from __future__ import annotations

from flask.views import MethodView

from ..contacts import photos, services
from . import schemas
from .core import (
    OWNER,
    PAGE_HEADERS_DOC,
    ApiBlueprint,
    current_owner,
    page_args,
    page_headers,
    requires,
)

bp = ApiBlueprint("api_contacts", __name__, tag="Contacts", url_prefix="/api/contacts",
                  description="Your address book: the people you can invite.")


@bp.route("/")
class Contacts(MethodView):
    @requires(OWNER)
    @bp.arguments(schemas.ContactListArgsSchema, location="query")
    @bp.response(200, schemas.ContactSchema(many=True), headers=PAGE_HEADERS_DOC)
    @bp.doc(operationId="listContacts")
    def get(self, args):
        """List your contacts (by last name), optionally searched"""
        page_number, per_page = page_args(args)
        page = services.list_contacts(current_owner(), search=args.get("search"),
                                      page=page_number, per_page=per_page)
        return page.items, page_headers(page, search=args.get("search"))

    @requires(OWNER)
    @bp.body(schemas.ContactCreateSchema)
    @bp.response(201, schemas.ContactSchema)
    @bp.doc(operationId="createContact")
    def post(self, data):
        """Add a contact"""
        return services.create_contact(current_owner(), first_name=data["first_name"],
                                       last_name=data["last_name"], email=data["email"])


@bp.route("/<id:contact_id>/")
class ContactDetail(MethodView):
    @requires(OWNER)
    @bp.response(200, schemas.ContactSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="getContact")
    def get(self, contact_id: int):
        """One contact"""
        return services.get_contact(current_owner(), contact_id)

    @requires(OWNER)
    @bp.body(schemas.ContactUpdateSchema)
    @bp.response(200, schemas.ContactSchema)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="updateContact")
    def put(self, data, contact_id: int):
        """Change a contact (partial updates allowed)"""
        contact = services.get_contact(current_owner(), contact_id)
        remove_image = data.pop("remove_image", False)
        return services.update_contact(contact, data, remove_image=remove_image)

    @requires(OWNER)
    @bp.response(204)
    @bp.alt_response(404, response="NOT_FOUND")
    @bp.doc(operationId="deleteContact")
    def delete(self, contact_id: int):
        """Delete a contact, with their invitations and picks"""
        services.delete_contact(services.get_contact(current_owner(), contact_id))
        return None


PHOTO = {"type": "string", "format": "binary"}
PHOTO_DESCRIPTION = ("The photo, as JPEG, PNG or WebP, cached privately for an hour (`image_url` changes "
                     "with the photo).")
VERSION_PARAMETER = {"in": "query", "name": "v", "required": False, "schema": {"type": "string"},
                     "description": "Which photo: part of `image_url`, so a new photo gets a new URL."}


@bp.route("/<id:contact_id>/photo", methods=["GET"])
@requires(OWNER)
@bp.response(200, PHOTO, content_type="image/jpeg", description=PHOTO_DESCRIPTION)
@bp.alt_response(200, schema=PHOTO, content_type="image/png", description=PHOTO_DESCRIPTION, success=True)
@bp.alt_response(200, schema=PHOTO, content_type="image/webp", description=PHOTO_DESCRIPTION, success=True)
@bp.alt_response(404, response="NOT_FOUND")
@bp.doc(operationId="getContactPhoto", parameters=[VERSION_PARAMETER])
def contact_photo(contact_id: int):
    """A contact's photo (the contact's `image_url`)"""
    return photos.send_photo(services.get_contact(current_owner(), contact_id))
