"""How does scheduling answer the contact pages' questions about invitations and picks?

Contacts sit below calendars and scheduling, so they ask by signal (`oneonone.contacts.signals`)
and these receivers answer: how many calendars each contact on a page of the list is invited to,
and what deleting a contact takes with it. Importing this module connects them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..calendars.models import Calendar
from ..contacts import signals
from ..contacts.models import Contact
from ..extensions import db
from .models import Event, Invitee


@signals.invitation_counts.connect
def _invitation_counts(contact_ids: list[int], **_: Any) -> dict[int, int]:
    """How many calendars each of these contacts is invited to, by contact id (one query)."""
    rows = db.session.execute(
        sa.select(Invitee.contact_id, sa.func.count())
        .where(Invitee.contact_id.in_(contact_ids))
        .group_by(Invitee.contact_id)
    )
    return dict(rows.all())


@signals.contact_usage.connect
def _contact_usage(contact: Contact, **_: Any) -> signals.ContactUsage:
    """The calendars this contact is invited to, with their picks and confirmed meetings (two queries)."""
    calendars = db.session.scalars(
        sa.select(Calendar).join(Invitee).where(Invitee.contact_id == contact.id)
        .order_by(Calendar.start_date, Calendar.name, Calendar.id)
    ).all()
    picks, confirmed = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(Event.confirmed))
        .where(Event.contact_id == contact.id)
    ).one()
    return signals.ContactUsage(calendars=list(calendars), picks=picks or 0, confirmed_meetings=confirmed or 0)
