"""Calendars and the timeslots an owner offers in them."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import UTCDateTime, utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..accounts.models import User
    from ..scheduling.models import Event, Invitee


class Calendar(db.Model):
    __tablename__ = "calendars"
    __table_args__ = (
        sa.CheckConstraint("start_date <= end_date", name="window_order"),
        # The calendar list: an owner's calendars, newest window first.
        sa.Index("ix_calendars_owner_id_start_date", "owner_id", "start_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(50))
    start_date: Mapped[dt.date] = mapped_column(sa.Date)
    end_date: Mapped[dt.date] = mapped_column(sa.Date)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    response_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Where and what the meetings are: shown on the pick page, in every invitee email and the .ics.
    location: Mapped[str | None] = mapped_column(sa.String(200))
    meeting_url: Mapped[str | None] = mapped_column(sa.String(500))
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    # When the owner was told that every invitee has answered (once; cleared by a new invitation).
    all_answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by database triggers on every write to this calendar's slots, invitees and picks
    # (migration 0009); never written by the app. Suggestions are cached under it.
    data_version: Mapped[int] = mapped_column(default=0, server_default="0")

    owner: Mapped[User] = relationship(back_populates="calendars")
    timeslots: Mapped[list[Timeslot]] = relationship(
        back_populates="calendar",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Timeslot.start_time",
    )
    invitees: Mapped[list[Invitee]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def deadline_passed(self, now: dt.datetime | None = None) -> bool:
        return self.response_deadline is not None and (now or utcnow()) >= self.response_deadline

    def __str__(self) -> str:
        return f"{self.name} ({self.start_date:%Y-%m-%d} – {self.end_date:%Y-%m-%d})"


class Timeslot(db.Model):
    __tablename__ = "timeslots"
    __table_args__ = (
        sa.CheckConstraint("end_time > start_time", name="ends_after_start"),
        # Lets events reference (timeslot, calendar) so an event's calendar cannot disagree.
        sa.UniqueConstraint("id", "calendar_id"),
        sa.Index("ix_timeslots_calendar_id_start_time", "calendar_id", "start_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(sa.ForeignKey("calendars.id", ondelete="CASCADE"))
    start_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end_time: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    high_priority: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    calendar: Mapped[Calendar] = relationship(back_populates="timeslots")
    events: Mapped[list[Event]] = relationship(
        back_populates="timeslot",
        primaryjoin="Timeslot.id == foreign(Event.timeslot_id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def duration(self) -> dt.timedelta:
        return self.end_time - self.start_time

    def __str__(self) -> str:
        zone = ZoneInfo(self.calendar.timezone) if self.calendar else dt.UTC
        start = self.start_time.astimezone(zone)
        end = self.end_time.astimezone(zone)
        flag = " (high priority)" if self.high_priority else ""
        return f"{start:%a %d %b %Y %H:%M}–{end:%H:%M}{flag}"
