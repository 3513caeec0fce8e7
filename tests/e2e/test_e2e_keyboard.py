"""The pick page with the keyboard only: Tab between the slots, arrow keys (and Space) to choose,
Enter to save; every stop shows where the focus is, and nothing hides it."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

# Where the focus is, as a sighted keyboard user sees it: for the visually hidden radio inputs, their
# labels. "visible" means on screen and not covered by anything (a sticky bar, a banner).
FOCUS = """async () => {
  // Bootstrap scrolls smoothly: wait until the page has kept still for ten frames.
  for (let still = 0, frames = 0, last = scrollY; still < 10 && frames < 120; frames++) {
    await new Promise(resolve => requestAnimationFrame(resolve));
    still = scrollY === last ? still + 1 : 0;
    last = scrollY;
  }
  const element = document.activeElement;
  const hidden = element.classList.contains('btn-check') && element.labels.length;
  const shown = hidden ? element.labels[0] : element;
  const style = getComputedStyle(shown);
  const box = shown.getBoundingClientRect();
  const middle = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {
    tag: element.tagName.toLowerCase(), type: element.type || '', name: element.name || '',
    value: element.value, text: (shown.textContent || '').trim().slice(0, 40),
    outline: style.outlineStyle === 'auto'
             || (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2),
    ring: style.boxShadow !== 'none',
    visible: box.width > 0 && box.height > 0 && box.top >= -1 && box.bottom <= innerHeight + 1
             && middle !== null && shown.contains(middle),
  };
}"""


def test_the_pick_page_works_with_the_keyboard_alone(visit, owner, make_calendar, make_contact,
                                                     make_timeslot, make_invitee, db):
    from oneonone.scheduling.models import Event

    calendar = make_calendar(owner=owner, name="Parent evening", timezone="Europe/Madrid",
                             start_date=dt.date(2030, 10, 14))
    slots = [make_timeslot(calendar, f"{hour}:00", day=day) for day in (0, 1) for hour in (16, 17, 18)]
    slot_ids = [slot.id for slot in slots]
    contact = make_contact(owner=owner, first_name="Noor", last_name="Haddad", email="noor@example.org")
    _invitee, token = make_invitee(calendar, contact)
    contact_id = contact.id
    db.session.remove()

    noor = visit("noor", timezone_id="Europe/Madrid", locale="es-ES", viewport={"width": 1024, "height": 600})
    page = noor.page
    page.goto(f"/pick/{token}")
    expect(page.get_by_label("Show times in")).to_have_value("Europe/Madrid")  # the zone is right: no reload

    def tab(shift: bool = False) -> dict:
        page.keyboard.press("Shift+Tab" if shift else "Tab")
        focus = page.evaluate(FOCUS)
        assert focus["outline"] or focus["ring"], f"no visible focus indicator on {focus}"
        assert focus["visible"], f"the focused element is off screen or covered: {focus}"
        return focus

    # First stop: the skip link, shown while focused.
    focus = tab()
    assert focus["tag"] == "a" and focus["text"] == "Skip to content"
    # Then on to the time zone select, and into the first slot: Tab lands on its checked choice.
    for _ in range(5):
        focus = tab()
        if focus["name"] == "tz":
            break
    assert focus["name"] == "tz"
    focus = tab()
    assert (focus["name"], focus["value"]) == (f"slot-{slot_ids[0]}", "")  # "Can't" is checked at first
    noor.check("keyboard-focus-on-first-slot")

    # Slot 1: Preferred (two steps left, then Space); slot 2: If need be; slot 3 stays Can't.
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Space")
    assert page.evaluate(FOCUS)["value"] == "preferred"
    focus = tab()
    assert focus["name"] == f"slot-{slot_ids[1]}"
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(FOCUS)["value"] == "if_need_be"
    # The other days' slots: Tab through them; the last one chooses Preferred with the right arrow
    # wrapping around from Can't.
    for slot_id in slot_ids[2:]:
        focus = tab()
        assert focus["name"] == f"slot-{slot_id}", focus
    page.keyboard.press("ArrowRight")  # wraps from Can't to Preferred
    assert page.evaluate(FOCUS)["value"] == "preferred"
    # Then "None of these times work for me" and the comment box, before the button.
    assert tab()["name"] == "none_work"
    page.keyboard.press("Tab")  # the comment box (Chromium scrolls only its caret into view)
    assert page.evaluate(FOCUS)["name"] == "comment"
    focus = tab()
    assert focus["tag"] == "button" and focus["text"] == "Save my answer"
    noor.check("keyboard-focus-on-save")
    page.keyboard.press("Enter")

    expect(page.get_by_text("Your answer was saved (3 slots picked)")).to_be_visible()
    noor.check("keyboard-saved")
    picks = dict(db.session.execute(
        sa.select(Event.timeslot_id, Event.preference).where(Event.contact_id == contact_id)).all())
    db.session.remove()
    assert picks == {slot_ids[0]: "preferred", slot_ids[1]: "if_need_be", slot_ids[-1]: "preferred"}
