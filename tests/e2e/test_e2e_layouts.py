"""Layouts that hold (issue 18 point 6): every owner page, filled with long names, long emails, many
slots, meetings and a slot taken by someone else's meeting, is screenshotted at 1280 and 375 px and
never scrolls sideways; the invitees table shows every action at 1280 px, and the calendar tabs stay
on one row (or scroll within themselves) on a phone."""

from __future__ import annotations

import datetime as dt

import pytest
from markupsafe import Markup
from playwright.sync_api import Page

from oneonone.scheduling import answers, confirmations
from oneonone.templating import breakable_email
from oneonone.transaction import unit_of_work

from .support import Visitor, sign_in

pytestmark = pytest.mark.e2e

DESKTOP_WIDTH = 1280
PEOPLE = [  # (first, last, email): long names and long, hard-to-break addresses
    ("Maximiliana-Josephine", "Featherstonehaugh-Worthington",
     "maximiliana.josephine.featherstonehaugh@research-and-development.example.org"),
    ("Bartholomew", "Montgomery-Smythe", "bartholomewfitzwilliammontgomerysmythe@example.com"),
    ("Ada", "Lovelace", "ada@example.org"),
    ("Bo", "Chen", "bo.chen@engineering.headquarters.example.net"),
    ("Cyrus", "Young", "cy@example.org"),
    ("Dolores", "Umbridge-Fitzgerald", "dolores.umbridge-fitzgerald@ministry-of-magic.example.co.uk"),
    ("Eun-ji", "Park", "eunji.park@example.kr"),
    ("Fernando", "de la Cruz Villanueva", "fernando.delacruzvillanueva@ventas.example.es"),
    ("Grace", "Hopper", "grace.hopper@navy.example.mil"),
    ("Hiroshi", "Yamamoto", "h.yamamoto@example.jp"),
    ("Ingrid", "Bergström-Lindqvist", "ingrid.bergstrom-lindqvist@example.se"),
    ("Jean-Baptiste", "Poquelin", "jean-baptiste.poquelin@comedie.example.fr"),
]


@pytest.fixture
def rich_owner(make_user, make_calendar, make_contact, make_timeslot, make_invitee, db):
    """An owner with long names everywhere, a 30-slot week, twelve invitees who mostly answered, three
    confirmed meetings, and invitees whose picks include a slot another's meeting holds."""
    owner = make_user(first_name="Maximiliana-Josephine", last_name="Featherstonehaugh",
                      email="maximiliana.featherstonehaugh@people-operations.example.org",
                      timezone="Europe/Berlin")
    calendar = make_calendar(owner=owner, name="Quarterly engineering one-on-ones, Berlin office",
                             timezone="Europe/Berlin", start_date=dt.date(2030, 9, 2),
                             response_deadline=dt.datetime(2030, 8, 30, 17, tzinfo=dt.UTC))
    slots = [make_timeslot(calendar, start, day=day, high_priority=start == "09:00")
             for day in range(5) for start in ("09:00", "10:00", "11:00", "13:00", "14:00", "15:00")]
    contacts = [make_contact(owner=owner, first_name=first, last_name=last, email=email)
                for first, last, email in PEOPLE]
    for n in range(6):  # contacts not invited, for the invite list and the contacts list
        make_contact(owner=owner, first_name=f"Uninvited{n}", last_name="Colleague-With-A-Long-Name",
                     email=f"uninvited.colleague.number{n}@subsidiary.example.com")
    invitees = [make_invitee(calendar, contact)[0] for contact in contacts[:-2]]  # two only invited
    with unit_of_work():
        for n, invitee in enumerate(invitees[:-1]):  # the last one has not answered
            picks = {slots[0].id: "preferred", slots[1].id: "if_need_be"}
            picks.update({slots[(n * 3 + k) % len(slots)].id: "preferred" if k % 2 else "if_need_be"
                          for k in range(2, 9)})
            answers.save_picks(invitee, picks)
        # Three meetings; slot 0 is then held by someone else for every other invitee who picked it.
        confirmations.finalize_schedule(calendar, [(contacts[2].id, slots[0].id), (contacts[3].id, slots[1].id),
                                                   (contacts[4].id, slots[14].id)])
    values = {"email": owner.email, "calendar": calendar.id, "slot": slots[0].id, "contact": contacts[0].id}
    db.session.remove()
    return values


def owner_pages(ids: dict) -> list[tuple[str, str]]:
    calendar, slot, contact = ids["calendar"], ids["slot"], ids["contact"]
    return [
        ("/calendars/", "calendars"),
        ("/calendars/new", "calendar-new"),
        (f"/calendars/{calendar}/", "calendar"),
        (f"/calendars/{calendar}/edit", "calendar-edit"),
        (f"/calendars/{calendar}/delete", "calendar-delete"),
        (f"/calendars/{calendar}/timeslots/new", "slot-new"),
        (f"/calendars/{calendar}/timeslots/{slot}/edit", "slot-edit"),
        (f"/calendars/{calendar}/timeslots/{slot}/delete", "slot-delete"),
        (f"/calendars/{calendar}/timeslots/series", "series"),
        (f"/calendars/{calendar}/invitees", "invitees"),
        (f"/calendars/{calendar}/suggestions", "suggestions"),
        ("/contacts/", "contacts"),
        ("/contacts/new", "contact-new"),
        (f"/contacts/{contact}/edit", "contact-edit"),
        (f"/contacts/{contact}/delete", "contact-delete"),
        ("/contacts/import", "contacts-import"),
        ("/accounts/profile", "profile"),
        ("/accounts/delete", "account-delete"),
        ("/accounts/signout", "signout"),
    ]


def no_sideways_scroll(page: Page, name: str) -> list[str]:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return [f"{name} is {width}px wide in a {inner}-px window: it scrolls sideways"] if width > inner else []


CONTROLS_OUT_OF_SIGHT = """() => [...document.querySelectorAll('main a, main button, main input, main select')]
  .filter(el => el.offsetParent !== null && el.getBoundingClientRect().width > 1)
  .filter(el => { const r = el.getBoundingClientRect(); return r.right > window.innerWidth + 0.5 || r.left < -0.5; })
  .map(el => (el.innerText || el.value || el.id || el.tagName).trim().slice(0, 40))"""


def every_control_in_sight(page: Page, name: str) -> list[str]:
    """No link, button or field is pushed out sideways (off the window, or into a box scrolled away)."""
    return [f"{name}: {control!r} is out of sight sideways" for control in page.evaluate(CONTROLS_OUT_OF_SIGHT)]


TABLE_CONTROLS = """() => {
  const table = document.querySelector('.invitee-table');
  const box = table.closest('.table-responsive') || table.parentElement;
  const edge = Math.min(window.innerWidth, box.getBoundingClientRect().right);
  const start = Math.max(0, box.getBoundingClientRect().left);
  return [...table.querySelectorAll('button, select, a')].map(el => {
    const r = el.getBoundingClientRect();
    const name = el.tagName === 'SELECT' ? 'select #' + el.id : el.innerText.trim();
    return {name: name, outside: r.right > edge + 0.5 || r.left < start - 0.5,
            where: `${Math.round(r.left)}..${Math.round(r.right)} in ${Math.round(start)}..${Math.round(edge)}`};
  });
}"""


def every_invitee_action_in_view(page: Page) -> list[str]:
    """Every control of the invitees table lies inside the window and the table's own box."""
    controls = page.evaluate(TABLE_CONTROLS)
    names = {control["name"] for control in controls}
    problems = [f"invitees: no {needed!r} button" for needed in ("Resend", "Revoke", "Cancel meeting", "Confirm")
                if not any(name.startswith(needed) for name in names)]
    return problems + [f"invitees: {c['name']} is outside the table's visible box ({c['where']})"
                       for c in controls if c["outside"]]


TABS = """() => {
  const bar = document.querySelector('[data-calendar-tabs]') || document.querySelector('.nav-tabs');
  const links = [...bar.querySelectorAll('a')].filter(a => a.offsetParent !== null);
  const style = getComputedStyle(bar);
  const edge = bar.getBoundingClientRect().right;
  return {tops: links.map(a => a.getBoundingClientRect().top), count: links.length,
          scrolls: ['auto', 'scroll'].includes(style.overflowX),
          overflows: links.some(a => a.getBoundingClientRect().right > edge + 0.5),
          current: links.filter(a => a.getAttribute('aria-current') === 'page').length};
}"""


def tabs_on_one_row(page: Page, name: str) -> list[str]:
    """Three tab links, the current one marked, on one row; any that do not fit scroll within the bar."""
    tabs = page.evaluate(TABS)
    problems = []
    if tabs["count"] != 3 or tabs["current"] != 1:
        problems.append(f"{name}: {tabs['count']} tab links, {tabs['current']} marked aria-current")
    if len({round(top) for top in tabs["tops"]}) > 1:
        problems.append(f"{name}: the calendar tabs wrap onto rows at {tabs['tops']}")
    if tabs["overflows"] and not tabs["scrolls"]:
        problems.append(f"{name}: the calendar tabs run out of their bar, which does not scroll")
    return problems


def walk(visitor: Visitor, ids: dict, *, phone: bool) -> None:
    """Check and screenshot every owner page; then fail with every problem found on any of them."""
    problems = []
    for path, name in owner_pages(ids):
        visitor.goto(path, name)
        problems += no_sideways_scroll(visitor.page, name) + every_control_in_sight(visitor.page, name)
        if name in ("calendar", "invitees", "suggestions"):
            problems += tabs_on_one_row(visitor.page, name)
        if name == "invitees" and not phone:
            problems += every_invitee_action_in_view(visitor.page)
    assert not problems, "\n".join(problems)


def test_every_owner_page_holds_at_1280_px(visit, rich_owner):
    owner = visit("desktop", timezone_id="Europe/Berlin")
    sign_in(owner, rich_owner["email"])
    assert owner.page.viewport_size["width"] == DESKTOP_WIDTH
    walk(owner, rich_owner, phone=False)


def test_every_owner_page_holds_on_a_phone(visit, rich_owner):
    owner = visit("phone", timezone_id="Europe/Berlin", phone=True)
    sign_in(owner, rich_owner["email"])
    walk(owner, rich_owner, phone=True)


@pytest.mark.parametrize(("address", "html"), [
    ("ada@example.org", "ada<wbr>@example<wbr>.org"),
    ("first.last@mail.example.co.uk", "first<wbr>.last<wbr>@mail<wbr>.example<wbr>.co<wbr>.uk"),
    ('<b>"x"&y@example.org', "&lt;b&gt;&#34;x&#34;&amp;y<wbr>@example<wbr>.org"),  # escaped, then broken
    (Markup("a&amp;b@c.d"), "a&amp;b<wbr>@c<wbr>.d"),  # already escaped: not escaped twice
    ("nodots", "nodots"),
    (None, ""),
])
def test_breakable_email_breaks_before_at_and_dots_and_escapes(address, html):
    assert breakable_email(address) == Markup(html)
