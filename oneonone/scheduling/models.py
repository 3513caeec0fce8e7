"""Invitations (a contact invited to a calendar) and picks (an invitee's answer for a timeslot).

A pick is stored as an `Event`, the design document's name; a confirmed pick is a meeting.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..calendars.models import Calendar, Timeslot
    from ..contacts.models import Contact

PREFERRED = "preferred"
IF_NEED_BE = "if_need_be"
PREFERENCES = (PREFERRED, IF_NEED_BE)
PREFERENCE_LABELS = {PREFERRED: "Preferred", IF_NEED_BE: "If need be"}

# An invitee's answer, as a whole (the API's `state`): see Invitee.answer_state.
NOT_ANSWERED, ANSWERED, CANT_MAKE_ANY = "not_answered", "answered", "cant_make_any"
ANSWER_STATES = (NOT_ANSWERED, ANSWERED, CANT_MAKE_ANY)
COMMENT_MAX = 500


class Invitee(db.Model):
    """A contact invited to a calendar; they answer through a personal link."""

    __tablename__ = "invitees"
    __table_args__ = (
        sa.UniqueConstraint("calendar_id", "contact_id"),
        # "None of these times work" is an answer: it is never reminded as if unanswered.
        sa.CheckConstraint("declined_at IS NULL OR responded_at IS NOT NULL", name="declined_is_an_answer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(
        sa.ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    # Only the SHA-256 of the link token is stored. The token is HMAC(key from SECRET_KEY, link_nonce),
    # so the app can rebuild it (links.rebuild_token) while the database alone cannot.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    link_nonce: Mapped[str | None] = mapped_column(sa.String(32))
    link_issued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    invited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    responded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When they answered "None of these times work for me" (their picks were cleared); None once they
    # pick again. Their comment for the owner goes with any answer.
    declined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(sa.String(COMMENT_MAX))
    # The owner's personal message in the invitation, shown in it and on the pick page.
    message: Mapped[str | None] = mapped_column(sa.String(1000))
    # The zone the invitee chose on their pick page; their emails show times in it.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    # SEQUENCE of the meeting's iCalendar entry; its UID is stable per invitee.
    ics_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # The free times the owner last asked this invitee about (from the suggestions), and when.
    asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    asked_timeslot_ids: Mapped[list | None] = mapped_column(sa.JSON)

    calendar: Mapped[Calendar] = relationship(back_populates="invitees")
    contact: Mapped[Contact] = relationship(back_populates="invitations")
    retired_links: Mapped[list[RetiredLink]] = relationship(
        back_populates="invitee", cascade="all, delete-orphan", passive_deletes=True
    )
    events: Mapped[list[Event]] = relationship(
        primaryjoin="and_(Invitee.calendar_id == foreign(Event.calendar_id), "
        "Invitee.contact_id == foreign(Event.contact_id))",
        viewonly=True,
    )

    @property
    def answer_state(self) -> str:
        """NOT_ANSWERED, ANSWERED (with picks: see their events) or CANT_MAKE_ANY: the one place the
        state is derived, for the pages and the API."""
        if self.declined_at is not None:
            return CANT_MAKE_ANY
        return ANSWERED if self.responded_at is not None else NOT_ANSWERED

    def __str__(self) -> str:
        return f"{self.contact} invited to {self.calendar.name}"


class RetiredLink(db.Model):
    """A link replaced by a resend, kept so the old link can say it was replaced."""

    __tablename__ = "retired_links"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    invitee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invitees.id", ondelete="CASCADE"), index=True
    )
    retired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    invitee: Mapped[Invitee] = relationship(back_populates="retired_links")

    def __str__(self) -> str:
        return f"Replaced link of invitee {self.invitee_id}"


class Event(db.Model):
    """An invitee's pick of a timeslot, under the design document's name: an Event is a pick; a confirmed
    Event is a meeting (one per slot, one per invitee in a calendar)."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("timeslot_id", "contact_id"),
        sa.CheckConstraint(f"preference IN ('{PREFERRED}', '{IF_NEED_BE}')", name="preference_known"),
        # A meeting the owner placed in a slot the invitee did not pick exists only as that meeting.
        sa.CheckConstraint("confirmed OR NOT owner_placed", name="owner_placed_is_a_meeting"),
        # The event's calendar is its timeslot's calendar ...
        sa.ForeignKeyConstraint(
            ["timeslot_id", "calendar_id"],
            ["timeslots.id", "timeslots.calendar_id"],
            ondelete="CASCADE",
        ),
        # ... and only an invitee of that calendar can pick (revoking removes the picks).
        sa.ForeignKeyConstraint(
            ["calendar_id", "contact_id"],
            ["invitees.calendar_id", "invitees.contact_id"],
            ondelete="CASCADE",
        ),
        # One meeting per slot, and one meeting per invitee in a calendar.
        sa.Index(
            "uq_events_confirmed_timeslot",
            "timeslot_id",
            unique=True,
            sqlite_where=sa.text("confirmed"),
            postgresql_where=sa.text("confirmed"),
        ),
        sa.Index(
            "uq_events_confirmed_invitee",
            "calendar_id",
            "contact_id",
            unique=True,
            sqlite_where=sa.text("confirmed"),
            postgresql_where=sa.text("confirmed"),
        ),
        sa.Index("ix_events_contact_id", "contact_id"),
        # An invitee's picks in a calendar (pick page, invitee overview, finalizing).
        sa.Index("ix_events_calendar_id_contact_id", "calendar_id", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column()
    timeslot_id: Mapped[int] = mapped_column()
    contact_id: Mapped[int] = mapped_column()
    confirmed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    preference: Mapped[str] = mapped_column(sa.String(16), default=PREFERRED)
    # The owner moved the meeting to a free slot the invitee had not picked: not one of their answers
    # (the preference is not theirs), and the row goes when the meeting is cancelled or moved again.
    owner_placed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    timeslot: Mapped[Timeslot] = relationship(
        back_populates="events",
        primaryjoin="Timeslot.id == foreign(Event.timeslot_id)",
    )
    contact: Mapped[Contact] = relationship(
        primaryjoin="Contact.id == foreign(Event.contact_id)", viewonly=True
    )

    def __str__(self) -> str:
        state = "confirmed" if self.confirmed else PREFERENCE_LABELS.get(self.preference, "")
        return f"{self.contact.full_name} at {self.timeslot} ({state})"
