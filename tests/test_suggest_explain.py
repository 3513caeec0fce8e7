"""Explaining the best schedule: which slots would seat a left-out invitee, which meetings are forced,
and what changes between two schedules -- product cases, bad input, and properties against brute force."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_suggest import best_preferences, duplicate_and_confirm, pairs, slot, slot_ranks

from oneonone.scheduling.suggest import (
    PREFERENCES,
    Meeting,
    Pick,
    Schedule,
    Score,
    Slot,
    changes,
    forced,
    suggest_schedules,
    would_fit,
)

Case = tuple[list[Slot], list[int], list[Pick], list[Meeting]]


# --------------------------------------------------------------------------- #
# Reference implementations
# --------------------------------------------------------------------------- #


def options_of(invitees: Sequence[int], picks: Sequence[Pick], confirmed: Sequence[Meeting]) -> dict[int, set[int]]:
    """The slots every invitee without a confirmed meeting could still get."""
    fixed_inv = {m.invitee for m in confirmed}
    fixed_slots = {m.slot for m in confirmed}
    options: dict[int, set[int]] = {i: set() for i in set(invitees) - fixed_inv}
    for p in picks:
        if p.invitee in options and p.slot not in fixed_slots:
            options[p.invitee].add(p.slot)
    return options


def max_scheduled(options: dict[int, set[int]]) -> int:
    """Maximum matching size by simple augmenting paths (Kuhn)."""
    owner: dict[int, int] = {}

    def augment(person: int, seen: set[int]) -> bool:
        for s in sorted(options[person]):
            if s in seen:
                continue
            seen.add(s)
            if s not in owner or augment(owner[s], seen):
                owner[s] = person
                return True
        return False

    return sum(augment(person, set()) for person in sorted(options))


def every_schedule(
    slots: Sequence[Slot], invitees: Sequence[int], picks: Sequence[Pick], confirmed: Sequence[Meeting]
) -> list[tuple[Score, frozenset[tuple[int, int]]]]:
    """Every assignment (maximal or not), with its Score, confirmed meetings included."""
    prefs = best_preferences(picks)
    by_id = {s.id: s for s in slots}
    fixed = sorted({(m.invitee, m.slot) for m in confirmed})
    options = options_of(invitees, picks, confirmed)
    people = sorted(options)
    found: list[tuple[Score, frozenset[tuple[int, int]]]] = []

    def extend(at: int, used: frozenset[int], chosen: tuple[tuple[int, int], ...]) -> None:
        if at == len(people):
            everything = [*chosen, *fixed]
            score = Score(
                len(everything),
                sum(by_id[s].high_priority for _, s in everything),
                sum(prefs.get(pair) == "preferred" for pair in everything),
            )
            found.append((score, frozenset(everything)))
            return
        person = people[at]
        extend(at + 1, used, chosen)
        for s in sorted(options[person] - used):
            extend(at + 1, used | {s}, (*chosen, (person, s)))

    extend(0, frozenset(), ())
    return found


def score_key(score: Score) -> tuple[int, int, int]:
    return (score.scheduled, score.high_priority, score.preferred)


def expected_would_fit(case: Case, best: Schedule) -> dict[int, tuple[int, ...]]:
    slots, invitees, picks, confirmed = case
    options = options_of(invitees, picks, confirmed)
    top = max_scheduled(options)
    picked = {(p.invitee, p.slot) for p in picks}
    fixed_slots = {m.slot for m in confirmed}
    rank = slot_ranks(slots)
    out = {}
    for u in best.unscheduled:
        fits = []
        for s in sorted(rank, key=rank.__getitem__):
            if s in fixed_slots or (u.invitee, s) in picked:
                continue
            more = {**options, u.invitee: options[u.invitee] | {s}}
            if max_scheduled(more) == top + 1:
                fits.append(s)
        out[u.invitee] = tuple(fits)
    return out


def expected_forced(case: Case, best: Schedule) -> dict[int, bool]:
    everything = every_schedule(*case)
    top = max(score_key(score) for score, _ in everything)
    assert score_key(best.score) == top, "the best schedule is not optimal"
    equally_good = [chosen for score, chosen in everything if score == best.score]
    return {
        a.invitee: all((a.invitee, a.slot) in chosen for chosen in equally_good)
        for a in best.assignments
        if not a.fixed
    }


# --------------------------------------------------------------------------- #
# Cases a product person recognises
# --------------------------------------------------------------------------- #


def panel_day() -> Case:
    """Bob's 09:00 is confirmed, so Ada (only 09:00) is out; Cy picked only 10:00; Dan and Eve both
    picked 11:00 and 12:00; nobody picked 13:00."""
    slots = [slot(hour, hour - 9) for hour in (9, 10, 11, 12, 13)]
    ada, bob, cy, dan, eve = 1, 2, 3, 4, 5
    picks = [Pick(ada, 9), Pick(bob, 9), Pick(cy, 10), Pick(dan, 11), Pick(dan, 12), Pick(eve, 11), Pick(eve, 12)]
    return slots, [ada, bob, cy, dan, eve], picks, [Meeting(bob, 9)]


def test_panel_day() -> None:
    case = panel_day()
    best, second = suggest_schedules(*case, k=2)
    assert second.score == best.score
    # Only the free 13:00 would seat Ada: 09:00 is confirmed, the others are all needed.
    assert would_fit(*case, schedule=best) == {1: (13,)}
    # Cy has nowhere else to go; Dan and Eve can swap without making the schedule worse.
    assert forced(*case, schedule=best) == {3: True, 4: False, 5: False}
    # The two schedules cost exactly the same (Dan and Eve swap), so which one comes first is the
    # solver's choice; either way the change is that swap, in the best schedule's slot order.
    assert changes(best, second) in {((5, 11, 12), (4, 12, 11)), ((4, 11, 12), (5, 12, 11))}
    assert changes(best, best) == ()


def test_a_slot_someone_can_vacate_fits() -> None:
    # Ann sits on 1 but could move to the free 2, so slot 1 would seat whoever of Bob and Cat is out
    # (or Dan, who picked nothing) had they picked it; slot 3 would not: Bob or Cat has nowhere else.
    slots = [slot(1, 0), slot(2, 1), slot(3, 2)]
    picks = [Pick(10, 1), Pick(10, 2), Pick(20, 3), Pick(30, 3)]
    case: Case = (slots, [10, 20, 30, 40], picks, [])
    best = suggest_schedules(*case, k=1)[0]
    (out,) = {20, 30} - {i for i, _ in pairs(best)}
    assert (10, 1) in pairs(best)
    fits = would_fit(*case, schedule=best)
    assert fits == {out: (1, 2), 40: (1, 2)}
    assert fits == expected_would_fit(case, best)


def test_forced_ignores_the_start_time_tie_break() -> None:
    # Ann is on 09:00 only because it is earlier: 10:00 is just as good, so she is not forced.
    slots = [slot(1, 0), slot(2, 1)]
    case: Case = (slots, [10], [Pick(10, 1), Pick(10, 2)], [])
    best = suggest_schedules(*case, k=1)[0]
    assert pairs(best) == {(10, 1)}
    assert forced(*case, schedule=best) == {10: False}
    # A preference makes the difference: then she is forced.
    case = (slots, [10], [Pick(10, 1), Pick(10, 2, "if_need_be")], [])
    best = suggest_schedules(*case, k=1)[0]
    assert forced(*case, schedule=best) == {10: True}


def test_forced_counts_leaving_someone_out_instead() -> None:
    # Ann or Bob, equally good either way: neither is forced.  Confirmed meetings are not reported.
    slots = [slot(1, 0), slot(2, 1)]
    case: Case = (slots, [10, 20, 30], [Pick(10, 1), Pick(20, 1)], [Meeting(30, 2)])
    best = suggest_schedules(*case, k=1)[0]
    (seated,) = (a.invitee for a in best.assignments if not a.fixed)
    (out,) = {10, 20} - {seated}
    assert forced(*case, schedule=best) == {seated: False}
    assert would_fit(*case, schedule=best) == {out: ()}


def test_nothing_to_explain() -> None:
    assert would_fit([], [], [], [], suggest_schedules([], [], [])[0]) == {}
    assert forced([], [], [], [], suggest_schedules([], [], [])[0]) == {}
    slots = [slot(1, 0), slot(2, 1)]
    case: Case = (slots, [10, 20], [], [Meeting(20, 2)])
    best = suggest_schedules(*case, k=1)[0]
    assert would_fit(*case, schedule=best) == {10: (1,)}
    assert forced(*case, schedule=best) == {}


def test_a_schedule_for_other_inputs_or_not_the_best_is_rejected() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    picks = [Pick(10, 1), Pick(10, 2), Pick(20, 1)]
    best, second = suggest_schedules(slots, [10, 20], picks)
    # The runner-up leaves Bob out although both fit.
    with pytest.raises(ValueError, match="maximum size"):
        would_fit(slots, [10, 20], picks, [], schedule=second)
    with pytest.raises(ValueError, match="not a best schedule"):
        forced(slots, [10, 20], picks, [], schedule=second)
    for bad in (
        {"picks": [Pick(10, 1), Pick(20, 1)]},  # Ann never picked slot 2
        {"confirmed": [Meeting(20, 1)]},
        {"invitees": [10, 20, 30]},
    ):
        args: dict[str, object] = {"slots": slots, "invitees": [10, 20], "picks": picks, "confirmed": []}
        args.update(bad)
        for fn in (would_fit, forced):
            with pytest.raises(ValueError, match="does not belong"):
                fn(**args, schedule=best)  # type: ignore[operator]


def test_changes_lists_moves_then_newcomers() -> None:
    slots = [slot(1, 0), slot(2, 1), slot(3, 2), slot(4, 3)]
    picks = [Pick(10, 1), Pick(10, 2), Pick(20, 2), Pick(20, 3), Pick(30, 3), Pick(40, 4, "if_need_be")]
    schedules = suggest_schedules(slots, [10, 20, 30, 40], picks, k=20)
    by_pairs = {frozenset(pairs(s)): s for s in schedules}
    best = by_pairs[frozenset({(10, 1), (20, 2), (30, 3), (40, 4)})]
    other = by_pairs[frozenset({(10, 2), (20, 3), (40, 4)})]
    assert changes(best, other) == ((10, 1, 2), (20, 2, 3), (30, 3, None))
    assert changes(other, best) == ((10, 2, 1), (20, 3, 2), (30, None, 3))


# --------------------------------------------------------------------------- #
# Properties against brute force
# --------------------------------------------------------------------------- #


@st.composite
def cases(draw: st.DrawFn) -> Case:
    """Up to 6 invitees and 7 slots; some slots nobody picks, some confirmed meetings, ties in time."""
    n_slots = draw(st.sampled_from([0, 1, 2, 3, 4, 5, 5, 6, 6, 7, 7, 7]))
    n_inv = draw(st.sampled_from([0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 6]))
    slot_ids = draw(st.lists(st.integers(1, 60), min_size=n_slots, max_size=n_slots, unique=True))
    slots = [slot(sid, draw(st.integers(0, 4)) / 2, draw(st.booleans())) for sid in slot_ids]
    unpicked = set(draw(st.lists(st.sampled_from(slot_ids), max_size=2))) if slot_ids else set()
    invitees = draw(st.lists(st.integers(1, 90), min_size=n_inv, max_size=n_inv, unique=True))
    density = draw(st.sampled_from([0.25, 0.4, 0.6]))
    rng = random.Random(draw(st.integers(0, 2**32)))
    picks: list[Pick] = []
    for i in invitees:
        if rng.random() < 0.15:
            continue  # this invitee did not answer
        for sid in slot_ids:
            if sid not in unpicked and rng.random() < density:
                picks.append(Pick(i, sid, rng.choice(PREFERENCES)))
    confirmed = duplicate_and_confirm(draw, picks, invitees, slot_ids)
    return slots, invitees, draw(st.permutations(picks)), confirmed


EXPLAIN = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@EXPLAIN
@given(cases())
def test_would_fit_matches_brute_force(case: Case) -> None:
    best = suggest_schedules(*case, k=1)[0]
    got = would_fit(*case, schedule=best)
    assert got == expected_would_fit(case, best)
    assert list(got) == [u.invitee for u in best.unscheduled]


@EXPLAIN
@given(cases())
def test_forced_matches_brute_force(case: Case) -> None:
    best = suggest_schedules(*case, k=1)[0]
    assert forced(*case, schedule=best) == expected_forced(case, best)


@EXPLAIN
@given(cases(), st.integers(2, 6))
def test_changes_are_the_difference_of_the_pairs(case: Case, k: int) -> None:
    schedules = suggest_schedules(*case, k=k)
    slot_order = {s.id: r for r, s in enumerate(sorted(case[0], key=lambda s: (s.start, s.id)))}
    for best in schedules:
        for other in schedules:
            got = changes(best, other)
            assert {(i, b) for i, b, _ in got if b is not None} == pairs(best) - pairs(other)
            assert {(i, o) for i, _, o in got if o is not None} == pairs(other) - pairs(best)
            assert len({i for i, _, _ in got}) == len(got)
            assert all(b != o for _, b, o in got)
            # Moves and leavers in best's slot order, then newcomers in other's.
            firsts = [b for _, b, _ in got if b is not None]
            newcomers = [o for _, b, o in got if b is None]
            assert got[: len(firsts)] == tuple(c for c in got if c[1] is not None)
            assert firsts == sorted(firsts, key=slot_order.__getitem__)
            assert newcomers == sorted(newcomers, key=slot_order.__getitem__)
