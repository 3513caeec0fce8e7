"""The schedule suggestion algorithm: product cases, bad input, and k-best against brute force."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from oneonone.scheduling.suggest import (
    PREFERENCES,
    Assignment,
    Meeting,
    Pick,
    Schedule,
    Score,
    Slot,
    Unscheduled,
    suggest_schedules,
)

MONDAY = dt.datetime(2030, 6, 3, 9, 0)

Key = tuple[int, int, int, int]


def slot(slot_id: int, hour: float, high_priority: bool = False) -> Slot:
    start = MONDAY + dt.timedelta(hours=hour)
    return Slot(slot_id, start, start + dt.timedelta(minutes=30), high_priority)


def pairs(schedule: Schedule) -> set[tuple[int, int]]:
    return {(a.invitee, a.slot) for a in schedule.assignments}


def reasons(schedule: Schedule) -> dict[int, str]:
    return {u.invitee: u.reason for u in schedule.unscheduled}


# --------------------------------------------------------------------------- #
# Reference implementation
# --------------------------------------------------------------------------- #


def best_preferences(picks: Iterable[Pick]) -> dict[tuple[int, int], str]:
    best: dict[tuple[int, int], str] = {}
    for p in picks:
        if best.get((p.invitee, p.slot)) != "preferred":
            best[(p.invitee, p.slot)] = p.preference
    return best


def slot_ranks(slots: Sequence[Slot]) -> dict[int, int]:
    return {s.id: r for r, s in enumerate(sorted(slots, key=lambda s: (s.start, s.id)))}


def key_of(chosen: Iterable[tuple[int, int]], slots: Sequence[Slot], prefs: dict[tuple[int, int], str]) -> Key:
    """(scheduled, high priority, preferred, -sum of start-time ranks): larger is better."""
    by_id = {s.id: s for s in slots}
    rank = slot_ranks(slots)
    chosen = list(chosen)
    return (
        len(chosen),
        sum(by_id[s].high_priority for _, s in chosen),
        sum(prefs.get((i, s)) == "preferred" for i, s in chosen),
        -sum(rank[s] for _, s in chosen),
    )


def brute_force(
    slots: Sequence[Slot], invitees: Sequence[int], picks: Sequence[Pick], confirmed: Sequence[Meeting]
) -> list[tuple[Key, frozenset[tuple[int, int]]]]:
    """Every maximal schedule, best key first."""
    prefs = best_preferences(picks)
    fixed = {(m.invitee, m.slot) for m in confirmed}
    fixed_inv = {i for i, _ in fixed}
    fixed_slots = {s for _, s in fixed}
    people = sorted(i for i in set(invitees) if i not in fixed_inv)
    options = {i: sorted({s for (j, s) in prefs if j == i and s not in fixed_slots}) for i in people}
    found: list[tuple[Key, frozenset[tuple[int, int]]]] = []

    def extend(at: int, used: set[int], chosen: list[tuple[int, int]]) -> None:
        if at == len(people):
            scheduled = {i for i, _ in chosen}
            maximal = all(set(options[i]) <= used for i in people if i not in scheduled)
            if maximal:
                everything = chosen + sorted(fixed)
                found.append((key_of(everything, slots, prefs), frozenset(everything)))
            return
        person = people[at]
        extend(at + 1, used, chosen)
        for s in options[person]:
            if s not in used:
                extend(at + 1, used | {s}, [*chosen, (person, s)])

    extend(0, set(), [])
    found.sort(key=lambda kf: kf[0], reverse=True)
    return found


def check_valid(
    schedule: Schedule,
    slots: Sequence[Slot],
    invitees: Sequence[int],
    picks: Sequence[Pick],
    confirmed: Sequence[Meeting],
) -> None:
    """Every invariant a caller relies on."""
    prefs = best_preferences(picks)
    by_id = {s.id: s for s in slots}
    rank = slot_ranks(slots)
    fixed = {(m.invitee, m.slot) for m in confirmed}
    got = [(a.invitee, a.slot) for a in schedule.assignments]
    assert len({i for i, _ in got}) == len(got), "an invitee has two meetings"
    assert len({s for _, s in got}) == len(got), "a slot has two meetings"
    assert fixed <= set(got), "a confirmed meeting is missing"
    for a in schedule.assignments:
        assert a.fixed == ((a.invitee, a.slot) in fixed)
        assert a.fixed or (a.invitee, a.slot) in prefs, "assigned a slot the invitee did not pick"
        assert a.preference == prefs.get((a.invitee, a.slot))
        assert a.high_priority == by_id[a.slot].high_priority
    assert [rank[s] for _, s in got] == sorted(rank[s] for _, s in got), "assignments not in time order"
    scheduled = {i for i, _ in got}
    expected_unscheduled = sorted(set(invitees) - scheduled)
    assert [u.invitee for u in schedule.unscheduled] == expected_unscheduled
    used = {s for _, s in got}
    for u in schedule.unscheduled:
        mine = {s for (i, s) in prefs if i == u.invitee}
        if mine:
            assert u.reason == "slots_taken"
            assert mine <= used, "left unscheduled although a slot they picked is free"
        else:
            assert u.reason == "no_picks"
    k = key_of(got, slots, prefs)
    assert schedule.score == Score(k[0], k[1], k[2])


def full_key(schedule: Schedule, slots: Sequence[Slot], picks: Sequence[Pick]) -> Key:
    return key_of(pairs(schedule), slots, best_preferences(picks))


# --------------------------------------------------------------------------- #
# Cases a product person recognises
# --------------------------------------------------------------------------- #


def test_two_invitees_want_the_same_slot_and_one_has_an_alternative() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    picks = [Pick(10, 1), Pick(10, 2), Pick(20, 1)]
    best, second = suggest_schedules(slots, [10, 20], picks)
    assert pairs(best) == {(10, 2), (20, 1)}
    assert best.score == Score(scheduled=2, high_priority=0, preferred=2)
    assert best.unscheduled == ()
    # The runner-up gives Ann the slot, so Bob (who picked only that one) misses out.
    assert pairs(second) == {(10, 1)}
    assert second.unscheduled == (Unscheduled(20, "slots_taken"),)


def test_high_priority_beats_preferred() -> None:
    slots = [slot(1, 0, high_priority=True), slot(2, 1)]
    picks = [Pick(10, 1, "if_need_be"), Pick(10, 2, "preferred")]
    schedules = suggest_schedules(slots, [10], picks)
    assert [pairs(s) for s in schedules] == [{(10, 1)}, {(10, 2)}]
    assert schedules[0].score == Score(1, 1, 0)
    assert schedules[0].assignments == (Assignment(10, 1, True, "if_need_be", False),)


def test_preferred_beats_if_need_be() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    picks = [Pick(10, 1, "if_need_be"), Pick(10, 2, "preferred")]
    best = suggest_schedules(slots, [10], picks)[0]
    assert best.assignments == (Assignment(10, 2, False, "preferred", False),)


def test_scheduling_more_people_beats_high_priority() -> None:
    # Ann alone on the high-priority slot would leave Bob out; both get a meeting instead.
    slots = [slot(1, 0, high_priority=True), slot(2, 1)]
    picks = [Pick(10, 1), Pick(10, 2), Pick(20, 1)]
    best = suggest_schedules(slots, [10, 20], picks)[0]
    assert pairs(best) == {(10, 2), (20, 1)}
    slots = [slot(1, 0), slot(2, 1, high_priority=True)]
    picks = [Pick(10, 1), Pick(10, 2), Pick(20, 1)]
    best = suggest_schedules(slots, [10, 20], picks)[0]
    assert pairs(best) == {(10, 2), (20, 1)}
    assert best.score == Score(2, 1, 2)


def test_ties_go_to_earlier_slots() -> None:
    slots = [slot(3, 2), slot(1, 0), slot(2, 1)]
    schedules = suggest_schedules(slots, [10], [Pick(10, 3), Pick(10, 2), Pick(10, 1)])
    assert [s.assignments[0].slot for s in schedules] == [1, 2, 3]
    # Same start: the smaller slot id counts as earlier.
    same = [slot(7, 0), slot(5, 0)]
    assert suggest_schedules(same, [10], [Pick(10, 7), Pick(10, 5)], k=1)[0].assignments[0].slot == 5


def test_confirmed_meetings_are_kept_and_their_slot_is_unavailable() -> None:
    slots = [slot(1, 0, high_priority=True), slot(2, 1), slot(3, 2)]
    picks = [Pick(10, 1), Pick(20, 1), Pick(20, 2), Pick(30, 1)]
    schedules = suggest_schedules(slots, [10, 20, 30], picks, confirmed=[Meeting(30, 3)])
    for s in schedules:
        assert Assignment(30, 3, False, None, True) in s.assignments
        check_valid(s, slots, [10, 20, 30], picks, [Meeting(30, 3)])
    assert pairs(schedules[0]) == {(10, 1), (20, 2), (30, 3)}
    assert schedules[0].score == Score(3, 1, 2)

    # A confirmed meeting on a slot takes it away from everybody else.
    schedules = suggest_schedules(slots, [10, 20, 30], picks, confirmed=[Meeting(20, 1)], k=5)
    assert len(schedules) == 1
    (only,) = schedules
    assert only.assignments == (Assignment(20, 1, True, "preferred", True),)
    assert reasons(only) == {10: "slots_taken", 30: "slots_taken"}
    assert only.score == Score(1, 1, 1)


def test_reasons_no_picks_versus_slots_taken() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    picks = [Pick(10, 1), Pick(20, 1)]
    schedules = suggest_schedules(slots, [10, 20, 30], picks)
    # Ann and Bob tie for slot 1; whoever misses out has had their slot taken, Cat never answered.
    assert sorted(map(sorted, (reasons(s).items() for s in schedules))) == [
        [(10, "slots_taken"), (30, "no_picks")],
        [(20, "slots_taken"), (30, "no_picks")],
    ]


def test_k_larger_than_the_number_of_schedules() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    picks = [Pick(10, 1), Pick(10, 2), Pick(20, 1)]
    schedules = suggest_schedules(slots, [10, 20], picks, k=50)
    # {Ann 2, Bob 1} and {Ann 1}; leaving Ann out while slot 2 is free is never suggested.
    assert [pairs(s) for s in schedules] == [{(10, 2), (20, 1)}, {(10, 1)}]


def test_nobody_answered() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    schedules = suggest_schedules(slots, [10, 20], [], confirmed=[Meeting(20, 2)], k=3)
    assert schedules == [
        Schedule(
            score=Score(1, 0, 0),
            assignments=(Assignment(20, 2, False, None, True),),
            unscheduled=(Unscheduled(10, "no_picks"),),
        )
    ]
    assert suggest_schedules([], [], []) == [Schedule(Score(0, 0, 0), (), ())]


def test_duplicate_picks_keep_the_better_preference() -> None:
    slots = [slot(1, 0)]
    picks = [Pick(10, 1, "if_need_be"), Pick(10, 1, "preferred"), Pick(10, 1, "if_need_be")]
    schedules = suggest_schedules(slots, [10, 10], picks)
    assert [s.assignments for s in schedules] == [(Assignment(10, 1, False, "preferred", False),)]


def test_same_input_same_output_whatever_the_order() -> None:
    rng = random.Random(7)
    slots = [slot(i, i // 3, high_priority=i % 5 == 0) for i in range(30)]
    picks = [Pick(i, s, rng.choice(PREFERENCES)) for i in range(20) for s in rng.sample(range(30), 4)]
    first = suggest_schedules(slots, range(20), picks, k=6)
    rng.shuffle(slots)
    rng.shuffle(picks)
    again = suggest_schedules(slots, reversed(range(20)), picks, k=6)
    assert first == again
    assert len(first) == 6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be"),
        ({"k": -3}, "k must be"),
        ({"k": 2.5}, "k must be an integer"),
        ({"picks": [Pick(10, 1, "maybe")]}, "unknown preference"),
        ({"picks": [Pick(10, 99)]}, "unknown slot"),
        ({"picks": [Pick(99, 1)]}, "not among the invitees"),
        ({"confirmed": [Meeting(99, 1)]}, "unknown invitee"),
        ({"confirmed": [Meeting(10, 99)]}, "unknown slot"),
        ({"confirmed": [Meeting(10, 1), Meeting(20, 1)]}, "two confirmed meetings"),
        ({"confirmed": [Meeting(10, 1), Meeting(10, 2)]}, "two confirmed meetings"),
        ({"slots": [slot(1, 0), slot(1, 1)]}, "duplicate slot id"),
    ],
)
def test_bad_input_raises_value_error(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "slots": [slot(1, 0), slot(2, 1)],
        "invitees": [10, 20],
        "picks": [Pick(10, 1)],
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        suggest_schedules(**args)  # type: ignore[arg-type]


def test_a_repeated_confirmed_meeting_is_not_a_conflict() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    (only,) = suggest_schedules(slots, [10], [], confirmed=[Meeting(10, 1), Meeting(10, 1)])
    assert pairs(only) == {(10, 1)}


# --------------------------------------------------------------------------- #
# Properties against brute force
# --------------------------------------------------------------------------- #


def duplicate_and_confirm(draw, picks: list[Pick], invitees: list[int], slot_ids: list[int]) -> list[Meeting]:
    """Maybe add a duplicate pick (perhaps with the other preference) to `picks`; up to two confirmed
    meetings, drawn from the invitees and slots."""
    if picks and draw(st.booleans()):
        again = draw(st.sampled_from(picks))
        picks.append(Pick(again.invitee, again.slot, draw(st.sampled_from(PREFERENCES))))
    if not (invitees and slot_ids and draw(st.integers(0, 2)) == 0):
        return []
    n_fixed = draw(st.integers(1, min(2, len(invitees), len(slot_ids))))
    who = draw(st.permutations(invitees))[:n_fixed]
    where = draw(st.permutations(slot_ids))[:n_fixed]
    return [Meeting(i, s) for i, s in zip(who, where, strict=True)]


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Slot], list[int], list[Pick], list[Meeting], int]:
    k = draw(st.integers(1, 6))
    n_slots = draw(st.sampled_from([0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 6]))  # mostly the larger sizes
    n_inv = draw(st.sampled_from([0, 1, 2, 3, 3, 4, 4, 5, 5, 5]))
    slot_ids = draw(st.lists(st.integers(1, 60), min_size=n_slots, max_size=n_slots, unique=True))
    # Starts on a coarse grid so that equal starts happen: then the slot id breaks the tie.
    slots = [slot(sid, draw(st.integers(0, 4)) / 2, draw(st.booleans())) for sid in slot_ids]
    invitees = draw(st.lists(st.integers(1, 90), min_size=n_inv, max_size=n_inv, unique=True))
    picks: list[Pick] = []
    answer = st.sampled_from(["preferred", None, "if_need_be", None, None])
    for i in invitees:
        if draw(st.integers(0, 6)) == 0:
            continue  # this invitee did not answer
        for sid in slot_ids:
            preference = draw(answer)
            if preference is not None:
                picks.append(Pick(i, sid, preference))
    confirmed = duplicate_and_confirm(draw, picks, invitees, slot_ids)
    return slots, invitees, draw(st.permutations(picks)), confirmed, k


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_k_best_matches_brute_force(case: tuple[list[Slot], list[int], list[Pick], list[Meeting], int]) -> None:
    slots, invitees, picks, confirmed, k = case
    schedules = suggest_schedules(slots, invitees, picks, confirmed, k=k)
    expected = brute_force(slots, invitees, picks, confirmed)
    keys = [full_key(s, slots, picks) for s in schedules]
    assert keys[0] == expected[0][0], "first schedule is not optimal"
    assert keys == [key for key, _ in expected[:k]]
    assert len({frozenset(pairs(s)) for s in schedules}) == len(schedules), "schedules repeat"
    every = {chosen for _, chosen in expected}
    for s in schedules:
        check_valid(s, slots, invitees, picks, confirmed)
        assert frozenset(pairs(s)) in every


def test_asking_for_everything_enumerates_every_maximal_schedule() -> None:
    rng = random.Random(11)
    for _ in range(25):
        slots = [slot(j, rng.randint(0, 3) / 2, rng.random() < 0.3) for j in range(1, rng.randint(2, 6) + 1)]
        invitees = list(range(1, rng.randint(2, 6) + 1))
        density = rng.random()
        picks = [Pick(i, s.id, rng.choice(PREFERENCES)) for i in invitees for s in slots if rng.random() < density]
        confirmed = [Meeting(invitees[0], slots[-1].id)] if rng.random() < 0.3 else []
        schedules = suggest_schedules(slots, invitees, picks, confirmed, k=10**6)
        expected = brute_force(slots, invitees, picks, confirmed)
        assert {frozenset(pairs(s)) for s in schedules} == {chosen for _, chosen in expected}
        assert [full_key(s, slots, picks) for s in schedules] == [key for key, _ in expected]


def test_larger_random_instance_is_valid_and_ranked() -> None:
    rng = random.Random(2030)
    slots = [slot(1000 + j, j / 4 + rng.choice((0, 0.05)), high_priority=rng.random() < 0.2) for j in range(600)]
    invitees = list(range(300))
    picks = []
    for i in invitees:
        start = rng.randrange(0, 560)
        picks += [Pick(i, 1000 + j, rng.choice(PREFERENCES)) for j in rng.sample(range(start, start + 40), 10)]
    confirmed = [Meeting(0, 1000 + 599), Meeting(1, 1000 + 3)]
    schedules = suggest_schedules(slots, invitees, picks, confirmed, k=5)
    assert len(schedules) == 5
    keys = [full_key(s, slots, picks) for s in schedules]
    assert keys == sorted(keys, reverse=True)
    assert len({frozenset(pairs(s)) for s in schedules}) == 5
    for s in schedules:
        check_valid(s, slots, invitees, picks, confirmed)
    assert keys[0] == dense_optimum(slots, invitees, picks, confirmed)


def dense_optimum(
    slots: Sequence[Slot], invitees: Sequence[int], picks: Sequence[Pick], confirmed: Sequence[Meeting]
) -> Key:
    """The best key by scipy's dense assignment, with the levels weighted independently of the module."""
    prefs = best_preferences(picks)
    rank = slot_ranks(slots)
    by_id = {s.id: s for s in slots}
    fixed = {(m.invitee, m.slot) for m in confirmed}
    people = sorted(set(invitees) - {i for i, _ in fixed})
    free = sorted(set(rank) - {s for _, s in fixed}, key=rank.__getitem__)
    n = len(people)
    w_pref = n * len(slots) + 1  # beats any difference in summed ranks
    w_hp = (n + 1) * w_pref
    w_sched = (n + 1) * w_hp
    cost = np.zeros((n, len(free)))  # a pair nobody picked costs what leaving the row out does
    for r, i in enumerate(people):
        for c, s in enumerate(free):
            if (i, s) in prefs:
                weight = w_sched + w_hp * by_id[s].high_priority + w_pref * (prefs[(i, s)] == "preferred")
                cost[r, c] = -(weight + len(slots) - 1 - rank[s])
    rows, cols = linear_sum_assignment(cost)
    chosen = [(people[r], free[c]) for r, c in zip(rows, cols, strict=True) if cost[r, c] < 0]
    return key_of(chosen + sorted(fixed), slots, prefs)
