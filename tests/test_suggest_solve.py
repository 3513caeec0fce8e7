"""The best schedule's solve: the square padded problem (everybody fits) against the rectangular one,
brute force and a dense solver, on random, tied and renumbered instances, and the edge cases."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.optimize import linear_sum_assignment
from test_suggest import brute_force, check_valid, full_key, instances, pairs, slot

from oneonone.scheduling.suggest import (
    PREFERENCES,
    Assignment,
    Meeting,
    Pick,
    Score,
    Slot,
    _everybody_fits,
    _Instance,
    _new_assignments,
    _root_match,
    _Search,
    suggest_schedules,
)

Case = tuple[list[Slot], list[int], list[Pick]]


def clustered(rng: random.Random, n_inv: int, n_slots: int, picks_each: int, window: int, ties: bool) -> Case:
    """Invitees pick among `window` consecutive slots; with ties, starts on a coarse grid and one preference."""
    slots = [
        slot(j, (j // 4 if ties else j) / 4, high_priority=not ties and rng.random() < 0.2) for j in range(n_slots)
    ]
    picks = []
    for i in range(n_inv):
        first = rng.randrange(0, max(n_slots - window, 0) + 1)
        chosen = rng.sample(range(first, min(first + window, n_slots)), min(picks_each, window, n_slots))
        picks += [Pick(i, j, "preferred" if ties else rng.choice(PREFERENCES)) for j in chosen]
    return slots, list(range(n_inv)), picks


def time_ordered(case: Case) -> Case:
    """The same instance with the invitees renumbered by their earliest pick (and reversed)."""
    slots, invitees, picks = case
    first: dict[int, int] = {}
    for p in picks:
        first[p.invitee] = min(first.get(p.invitee, p.slot), p.slot)
    order = sorted(first, key=lambda i: (first[i], i), reverse=True)
    new_id = {old: k for k, old in enumerate(order)}
    return slots, invitees, [Pick(new_id[p.invitee], p.slot, p.preference) for p in picks]


def costs_both_ways(case: Case, confirmed: list[Meeting] | None = None) -> tuple[int, int]:
    inst = _Instance.build(*case, confirmed or [])
    square, rect = _root_match(inst, square=True), _root_match(inst, square=False)
    for match in (square, rect):  # a matching: one edge per row, no column twice
        assert np.array_equal(inst.erow[match], np.arange(inst.n))
        assert np.unique(inst.ecol[match]).size == inst.n
        assert not inst.is_dummy[match].any(), "everybody fits, so everybody is scheduled"
    return int(inst.ecost[square].sum()), int(inst.ecost[rect].sum())


def dense_cost(inst: _Instance) -> int:
    """scipy's dense solver on the module's own costs (a pair nobody picked costs leaving the row out)."""
    dense = np.full((inst.n, inst.m + inst.n), float(inst.cbase))
    real = ~inst.is_dummy
    dense[inst.erow[real], inst.ecol[real]] = inst.ecost[real]
    rows, cols = linear_sum_assignment(dense)
    return int(dense[rows, cols].sum())


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("renumber", [False, True])
def test_square_solve_has_the_same_optimum(ties: bool, renumber: bool) -> None:
    rng = random.Random(20 + 2 * ties + renumber)
    tried = 0
    for _ in range(60):
        case = clustered(rng, rng.randint(1, 60), rng.randint(1, 120), rng.randint(1, 6), rng.randint(1, 30), ties)
        if renumber:
            case = time_ordered(case)
        inst = _Instance.build(*case, [])
        if not inst.n or not _everybody_fits(inst):
            continue
        tried += 1
        square, rect = costs_both_ways(case)
        assert square == rect == dense_cost(inst)
    assert tried >= 20


def test_square_solve_with_confirmed_meetings_and_duplicates() -> None:
    rng = random.Random(5)
    for _ in range(30):
        slots, invitees, picks = clustered(rng, 25, 80, 4, 12, ties=False)
        picks += [Pick(p.invitee, p.slot, "if_need_be") for p in picks[::7]]  # duplicates, worse preference
        confirmed = [Meeting(0, picks[0].slot), Meeting(24, 79)]
        inst = _Instance.build(slots, invitees, picks, confirmed)
        if _everybody_fits(inst):
            square, rect = costs_both_ways((slots, invitees, picks), confirmed)
            assert square == rect == dense_cost(inst)


def test_the_square_solve_is_only_used_when_everybody_fits() -> None:
    # Two invitees, one slot: somebody must stay out, and there the square problem's bidding wars are
    # pseudo-polynomial, so the rectangular solve (with an "unscheduled" column per invitee) is used.
    inst = _Instance.build([slot(1, 0)], [10, 20], [Pick(10, 1), Pick(20, 1)], [])
    assert not _everybody_fits(inst)
    with pytest.raises(ValueError, match="everybody"):
        _root_match(inst, square=True)
    assert inst.is_dummy[_root_match(inst)].sum() == 1
    inst = _Instance.build([slot(1, 0), slot(2, 1)], [10, 20], [Pick(10, 1), Pick(20, 1), Pick(20, 2)], [])
    assert _everybody_fits(inst)
    assert inst.ecol[_root_match(inst)].tolist() == [0, 1]


def test_root_duals_rebuild_from_the_square_optimum() -> None:
    # Murty's children need optimal duals; root_duals derives them from whatever optimum the root found.
    rng = random.Random(9)
    slots, invitees, picks = clustered(rng, 200, 400, 10, 48, ties=False)
    inst = _Instance.build(slots, invitees, picks, [])
    assert _everybody_fits(inst)
    search = _Search(inst)
    node = search.root()
    search.root_duals(node)
    assert node.u is not None and node.pi is not None
    reduced = inst.ecost - node.u[inst.erow] + node.pi[inst.ecol]
    assert reduced.min() == 0 and not reduced[node.match].any()
    assert node.pi.min() == 0 and not node.pi[node.owner < 0].any()


@pytest.mark.parametrize("renumber", [False, True])
def test_k_best_with_everybody_fitting_matches_brute_force(renumber: bool) -> None:
    rng = random.Random(31 + renumber)
    checked = 0
    for _ in range(80):
        case = clustered(
            rng, rng.randint(1, 5), rng.randint(2, 7), rng.randint(1, 3), rng.randint(2, 5), rng.random() < 0.5
        )
        if renumber:
            case = time_ordered(case)
        slots, invitees, picks = case
        inst = _Instance.build(slots, invitees, picks, [])
        if not inst.n or not _everybody_fits(inst):
            continue
        checked += 1
        schedules = suggest_schedules(slots, invitees, picks, k=4)
        expected = brute_force(slots, invitees, picks, [])
        assert [full_key(s, slots, picks) for s in schedules] == [key for key, _ in expected[:4]]
        assert len({frozenset(pairs(s)) for s in schedules}) == len(schedules)
        for s in schedules:
            check_valid(s, slots, invitees, picks, [])
    assert checked >= 30


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_both_solves_agree_with_brute_force(case: tuple[list[Slot], list[int], list[Pick], list[Meeting], int]) -> None:
    slots, invitees, picks, confirmed, _ = case
    inst = _Instance.build(slots, invitees, picks, confirmed)
    best = brute_force(slots, invitees, picks, confirmed)[0][0]
    if not inst.n:
        return
    ways = [True, False] if _everybody_fits(inst) else [False]
    costs = {int(inst.ecost[_root_match(inst, square=way)].sum()) for way in ways}
    assert len(costs) == 1
    assert full_key(suggest_schedules(slots, invitees, picks, confirmed, k=1)[0], slots, picks) == best


def test_nobody_can_be_scheduled() -> None:
    slots = [slot(1, 0), slot(2, 1)]
    # Everybody picked only slots a confirmed meeting takes, or nothing at all.
    picks = [Pick(10, 1), Pick(20, 1), Pick(20, 1, "if_need_be")]
    (only,) = suggest_schedules(slots, [10, 20, 30, 40], picks, confirmed=[Meeting(40, 1)], k=3)
    assert only.score == Score(1, 0, 0)  # the confirmed meeting; Dan never picked its slot
    assert [(u.invitee, u.reason) for u in only.unscheduled] == [
        (10, "slots_taken"),
        (20, "slots_taken"),
        (30, "no_picks"),
    ]
    inst = _Instance.build(slots, [10, 20, 30, 40], picks, [Meeting(40, 1)])
    assert inst.n == 0 and _root_match(inst).size == 0


def test_empty_inputs() -> None:
    assert suggest_schedules([], [], [], k=2) == [suggest_schedules([], [], [])[0]]
    assert suggest_schedules([slot(1, 0)], [], [], k=2)[0].assignments == ()
    (alone,) = suggest_schedules([], [10], [], k=2)
    assert [(u.invitee, u.reason) for u in alone.unscheduled] == [(10, "no_picks")]


@pytest.mark.parametrize("ids", ["compact", "sparse", "huge"])
def test_invitee_and_slot_ids_of_any_spread(ids: str) -> None:
    # Ids from a database (compact), scattered ones and ones beyond 2**40 read the same way.
    rng = random.Random(3)
    scale = {"compact": 1, "sparse": 10**6 + 7, "huge": 2**41 + 3}[ids]
    slots, invitees, picks = clustered(rng, 40, 90, 5, 15, ties=False)
    moved_slots = [Slot(s.id * scale + 1, s.start, s.end, s.high_priority) for s in slots]
    moved_picks = [Pick(p.invitee * scale + 2, p.slot * scale + 1, p.preference) for p in picks]
    moved = suggest_schedules(moved_slots, [i * scale + 2 for i in invitees], moved_picks, k=3)
    plain = suggest_schedules(slots, invitees, picks, k=3)
    assert [s.score for s in moved] == [s.score for s in plain]
    assert [{((i - 2) // scale, (j - 1) // scale) for i, j in pairs(s)} for s in moved] == [pairs(s) for s in plain]


def test_fast_assignments_equal_the_dataclass_ones() -> None:
    made = _new_assignments([10, 20], [1, 2], [True, False], ["preferred", "if_need_be"], 2)
    expected = [Assignment(10, 1, True, "preferred", False), Assignment(20, 2, False, "if_need_be", False)]
    assert made == expected
    assert [hash(a) for a in made] == [hash(a) for a in expected]
    assert [repr(a) for a in made] == [repr(a) for a in expected]
    assert [vars(a) for a in made] == [vars(a) for a in expected]
    with pytest.raises(AttributeError):
        made[0].slot = 3  # type: ignore[misc]
