"""Pages of a list, for HTML lists and the API alike."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from .extensions import db
from .validation import parse_int

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000  # a page further than this is past the end of any list (and its OFFSET fits)


def clamp_page_args(page: Any, per_page: Any, default: int = DEFAULT_PER_PAGE) -> tuple[int, int]:
    """Page and per_page from user input, brought into 1..MAX_PAGE and 1..MAX_PER_PAGE; what is not
    a number (ASCII digits) falls back to page 1 and `default` (the lists' documented leniency)."""
    page_number = parse_int(page, minimum=1, maximum=MAX_PAGE, clamp=True) or 1
    size = parse_int(per_page, minimum=1, maximum=MAX_PER_PAGE, clamp=True) or default
    return page_number, size


@dataclass
class Page:
    items: Sequence[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page else 1

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    def iter_pages(self, edge: int = 2, around: int = 2) -> Iterator[int | None]:
        """Page numbers to show, with None where a gap is."""
        last = 0
        for number in range(1, self.pages + 1):
            if number <= edge or number > self.pages - edge or abs(number - self.page) <= around:
                if last and number - last > 1:
                    yield None
                yield number
                last = number


def paginate(query: sa.Select, page: int, per_page: int) -> Page:
    """Run `query` for one page, with the total count: one query (the count is a window over the
    whole result), and a second only for a page past the end, which has no row to carry it."""
    rows = db.session.execute(query.add_columns(sa.func.count().over().label("total_count"))
                              .limit(per_page).offset((page - 1) * per_page)).all()
    if rows:
        total = rows[0][-1]
    elif page == 1:
        total = 0
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    return Page(items=[row[0] for row in rows], total=total or 0, page=page, per_page=per_page)
