"""Suggest one-on-one meeting schedules: exact k-best assignment (pure Python + numpy/scipy).

Model
-----
Rows are the invitees that still need a meeting and picked at least one free
slot; columns are the slots somebody picked, plus one private "unscheduled"
dummy column per invitee so that a full matching always exists.  Every picked
(invitee, slot) pair is an edge whose integer weight encodes, lexicographically,

1. +1 scheduled invitee,
2. +1 meeting on a high-priority slot,
3. +1 meeting on a slot the invitee marked ``preferred``,
4. a tie-break preferring earlier slots (smaller sum of start-time ranks).

The level multipliers are derived from bounds on how much each lower level can
differ between two matchings, so the order is exact; the whole cost of a
matching stays below ``2**50`` so float64 arithmetic in the solvers is exact.
On very large instances the tie-break is made coarser (start-time ranks are
bucketed into ``T + 1`` buckets) to stay inside that budget; small and
medium instances use exact ranks.

Only *maximal* schedules are suggested: an invitee is left unscheduled only if
every slot they picked is taken (by a confirmed meeting or by someone else in
that schedule).  A schedule that could simply add an unscheduled invitee to a
free slot they picked is strictly dominated and never shown.

The best schedule is a sparse min-cost full matching of that graph
(:func:`scipy.sparse.csgraph.min_weight_full_bipartite_matching`).  When
everybody can be scheduled the dummy columns are dropped and the problem is
padded to a square one (one "slot unused" row per slot, see :func:`_root_match`)
so that LAPJV's initialisation settles most rows; when somebody must stay out
the rectangular problem is solved as it is.  The next ones come from
Murty's partitioning with lazy evaluation: the optimal duals of a solved
subproblem give every child subproblem a lower bound on its cost (one
reduced-cost alternative for the row that must change plus one for the column
it leaves), children wait in a priority queue under that bound, and a child is
solved exactly only when it reaches the front -- by a shortest augmenting path
(Dijkstra on reduced costs) from its parent's optimum, not by a fresh solve.
To enumerate maximal schedules only, "row r leaves slot s" is split in two
children: somebody else takes s, or s stays free and everybody who picked s
must be scheduled elsewhere; a row fixed as unscheduled makes all the slots it
picked required.

Explanations
------------
Three pure helpers explain the best schedule (all exact, all built on the same
graph):

* :func:`would_fit` -- for every invitee left out, the free-to-pick slots that
  would seat one more person had they picked it.  A slot s does iff some
  maximum matching leaves s free (then the invitee takes it; conversely an
  augmenting path through the new edge frees s).  Those slots are found by one
  breadth-first search backwards along alternating paths from the free
  columns, so the answer is the same set for every invitee left out (none of
  their own picks can be in it, or the schedule would not be of maximum size).
* :func:`forced` -- for every meeting of the best schedule, whether every
  schedule with the same Score has it.  On the costs without the start-time
  tie-break, optimal duals (Bellman-Ford from the free columns) characterise
  every optimal matching: tight edges only, and every column with a positive
  dual covered.  The matching differs from another optimal one exactly along
  alternating cycles of tight edges, or alternating paths from a zero-dual
  column to a free one (closed into cycles through a hub); a meeting is free
  to move iff its row and column share a strongly connected component of that
  graph (the dummy columns cover "unscheduled instead").
* :func:`changes` -- who moves between two schedules.
"""

from __future__ import annotations

import copy
import heapq
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from itertools import count, repeat
from operator import attrgetter, itemgetter

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_array
from scipy.sparse.csgraph import (
    breadth_first_order,
    connected_components,
    dijkstra,
    maximum_bipartite_matching,
    min_weight_full_bipartite_matching,
)

__all__ = [
    "PREFERENCES",
    "REASONS",
    "Assignment",
    "Meeting",
    "Pick",
    "Schedule",
    "Score",
    "Slot",
    "Unscheduled",
    "changes",
    "forced",
    "suggest_schedules",
    "would_fit",
]

PREFERENCES = ("preferred", "if_need_be")
REASONS = ("no_picks", "slots_taken")

# Upper bound on the total integer cost of any full matching; well below 2**53
# so every sum the float64 solvers form is exact.
_COST_BUDGET = 2**50
_INF = 2**60  # "no such edge" in int64 bound arithmetic (two of them still fit)

_SLOT_ORDER = attrgetter("start", "id")
_FIRST = itemgetter(0)
_PREFERENCE_TEXT = (PREFERENCES[1], PREFERENCES[0])  # indexed by "is preferred"
_HIGH_PRIORITY = attrgetter("high_priority")
_INVITEE = attrgetter("invitee")
_SLOT = attrgetter("slot")
_PREFERENCE = attrgetter("preference")
_IF_NEED_BE = {PREFERENCES[0]: 0, PREFERENCES[1]: 1}

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Child kinds in Murty's partition (see _Search.children).
_SWAP = 0  # row leaves its slot, somebody else must take that slot
_FREE = 1  # row leaves its slot, the slot stays free, its neighbours must be scheduled
_SCHED = 2  # row was unscheduled and must now be scheduled


@dataclass(frozen=True)
class Slot:
    """A timeslot offered by the owner."""

    id: int
    start: datetime
    end: datetime
    high_priority: bool = False


@dataclass(frozen=True)
class Pick:
    """An invitee's pick of a slot they can make."""

    invitee: int
    slot: int
    preference: str = "preferred"  # "preferred" | "if_need_be"


@dataclass(frozen=True)
class Meeting:
    """An already-confirmed meeting, kept fixed in every schedule."""

    invitee: int
    slot: int


@dataclass(frozen=True)
class Assignment:
    """One meeting in a suggested schedule."""

    invitee: int
    slot: int
    high_priority: bool
    preference: str | None  # the invitee's pick preference (None only if a fixed meeting had no pick)
    fixed: bool  # True for an already-confirmed meeting


@dataclass(frozen=True)
class Score:
    """How good a schedule is; compared lexicographically."""

    scheduled: int
    high_priority: int
    preferred: int


@dataclass(frozen=True)
class Unscheduled:
    """An invitee left without a meeting, and why."""

    invitee: int
    reason: str  # "no_picks" | "slots_taken"


@dataclass(frozen=True)
class Schedule:
    """A suggested schedule."""

    score: Score
    assignments: tuple[Assignment, ...]  # sorted by slot start, then slot id
    unscheduled: tuple[Unscheduled, ...]  # sorted by invitee id


def suggest_schedules(
    slots: Iterable[Slot],
    invitees: Iterable[int],
    picks: Iterable[Pick],
    confirmed: Iterable[Meeting] = (),
    k: int = 3,
) -> list[Schedule]:
    """Up to k distinct schedules, best first."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    inst = _Instance.build(slots, invitees, picks, confirmed)
    return [inst.schedule(node.match) for node in _Search(inst).best(int(k))]


def would_fit(
    slots: Iterable[Slot],
    invitees: Iterable[int],
    picks: Iterable[Pick],
    confirmed: Iterable[Meeting],
    schedule: Schedule,
) -> dict[int, tuple[int, ...]]:
    """Per invitee left out of the best schedule: the slots that would seat one more person had they picked it.

    ``schedule`` is the best schedule for the same input (any schedule of maximum size will
    do).  For every invitee in its ``unscheduled``: the ids of the slots they did not pick and
    no confirmed meeting takes such that, with that one extra pick, the most invitees that can
    be scheduled (confirmed meetings kept) grows by one -- in start order (then id).  Raises
    ValueError if the schedule does not belong to the input or is not of maximum size.
    """
    inst = _Instance.build(slots, invitees, picks, confirmed)
    match = _match_of(inst, schedule)
    left_out = [u.invitee for u in schedule.unscheduled]
    if not left_out:
        return {}
    good_cols, reached_rows = _columns_left_free(inst, match)
    if np.any(reached_rows & inst.is_dummy[match]):
        raise ValueError("schedule is not of maximum size for these inputs: one more invitee fits")
    # Slots no active row picked are free in every schedule; confirmed slots are out.
    fits = np.ones(len(inst.slot_ids), dtype=bool)
    fits[inst.col_rank] = good_cols
    fits[[r for _, r, _ in inst.fixed]] = False
    ids = tuple(map(inst.slot_ids.__getitem__, np.flatnonzero(fits).tolist()))
    return dict.fromkeys(left_out, ids)


def forced(
    slots: Iterable[Slot],
    invitees: Iterable[int],
    picks: Iterable[Pick],
    confirmed: Iterable[Meeting],
    schedule: Schedule,
) -> dict[int, bool]:
    """Per invitee with a (not confirmed) meeting in the best schedule: is it in every equally good schedule?

    True iff every schedule with the same Score as ``schedule`` (scheduled, high priority,
    preferred; the start-time tie-break ignored) meets this invitee in this same slot.
    ``schedule`` must be a best schedule for the same input (ValueError otherwise).
    """
    inst = _Instance.build(slots, invitees, picks, confirmed)
    match = _match_of(inst, schedule)
    n = inst.n
    if not n:
        return {}
    flat = copy.copy(inst)
    flat.ecost = _score_costs(inst)
    owner = np.full(inst.n_cols, -1, dtype=np.int64)
    owner[inst.ecol[match]] = np.arange(n)
    node = _Node(
        cost=int(flat.ecost[match].sum()),
        match=match,
        owner=owner,
        u=None,
        pi=None,
        row_active=np.ones(n, dtype=bool),
        col_active=np.ones(inst.n_cols, dtype=bool),
        required=np.zeros(inst.n_cols, dtype=bool),
        allowed=np.ones(inst.erow.size, dtype=bool),
    )
    search = _Search(flat)
    try:
        search.root_duals(node)
    except RuntimeError:
        raise ValueError("schedule is not a best schedule for these inputs") from None
    assert node.u is not None and node.pi is not None
    rc = flat.ecost - node.u[inst.erow] + node.pi[inst.ecol]
    live = np.ones(inst.erow.size, dtype=bool)
    live[match] = False
    same_scc, _ = search._tight_reach(node, rc, live)
    rows = np.flatnonzero(~inst.is_dummy[match])
    invitee_ids = map(inst.inv_ids.__getitem__, inst.row_inv[rows].tolist())
    return dict(zip(invitee_ids, (~same_scc[rows]).tolist(), strict=True))


def changes(best: Schedule, other: Schedule) -> tuple[tuple[int, int | None, int | None], ...]:
    """(invitee, slot in best or None, slot in other or None) for every invitee whose slot differs.

    Invitees with a slot in ``best`` come first, in its slot order; then those who have a slot
    only in ``other``, in its slot order.
    """
    mine = {a.invitee: a.slot for a in best.assignments}
    theirs = {a.invitee: a.slot for a in other.assignments}
    out: list[tuple[int, int | None, int | None]] = [
        (i, s, theirs.get(i)) for i, s in mine.items() if i not in theirs or theirs[i] != s
    ]
    out += [(i, None, s) for i, s in theirs.items() if i not in mine]
    return tuple(out)


# --------------------------------------------------------------------------- #
# Problem preparation
# --------------------------------------------------------------------------- #


def _new_assignments(
    invitees: Iterable[int], slots: Iterable[int], high_priority: Iterable[bool], preferences: Iterable[str], count: int
) -> list[Assignment]:
    """Not-fixed Assignments from parallel columns, equal to ``Assignment(...)`` ones but made twice as fast.

    A frozen dataclass's ``__init__`` stores every field through ``object.__setattr__``; writing
    the instance dictionaries directly skips that (Assignment has no ``__post_init__`` or slots).
    """
    made = list(map(object.__new__, repeat(Assignment, count)))
    for fields, i, s, hp, pref in zip(map(vars, made), invitees, slots, high_priority, preferences, strict=True):
        fields["invitee"] = i
        fields["slot"] = s
        fields["high_priority"] = hp
        fields["preference"] = pref
        fields["fixed"] = False
    return made


def _level_weights(n_rows: int, n_cols: int, n_hp: int, n_pref: int, ticks: int) -> tuple[int, int, int, int]:
    """Multipliers (scheduled, high priority, preferred) and the base cost for tie-break range ``ticks``."""
    size = min(n_rows, n_cols)  # most real edges any matching can have
    hp = min(size, n_hp)
    pref = min(size, n_pref)
    tie = size * ticks  # largest tie-break total difference between two matchings
    w_pref = tie + 1
    w_hp = pref * w_pref + tie + 1
    w_sched = hp * w_hp + pref * w_pref + tie + 1
    base = w_sched + w_hp + w_pref + ticks + 1  # > any single edge weight: all costs >= 1
    return w_sched, w_hp, w_pref, base


def _tie_break_ticks(n_rows: int, n_cols: int, n_hp: int, n_pref: int, n_slots: int) -> int:
    """Largest tie-break resolution (0 .. n_slots - 1) keeping every matching's cost in budget."""

    def fits(ticks: int) -> bool:
        # The most expensive full matching: every row on its dummy.
        return n_rows * _level_weights(n_rows, n_cols, n_hp, n_pref, ticks)[3] <= _COST_BUDGET

    if not fits(0):
        raise ValueError("instance too large to rank exactly in float64")
    lo, hi = 0, max(n_slots - 1, 0)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _reject_picks(picks: list[Pick], index_of: dict[int, int], rank_of: dict[int, int]) -> None:
    """Raise ValueError for the first pick naming an unknown invitee, slot or preference, if any."""
    for p in picks:
        if p.invitee not in index_of:
            raise ValueError(f"pick {p!r} names invitee {p.invitee!r}, who is not among the invitees")
        if p.slot not in rank_of:
            raise ValueError(f"pick {p!r} names unknown slot {p.slot!r}")
        if p.preference not in _IF_NEED_BE:
            raise ValueError(f"pick {p!r} has unknown preference {p.preference!r}; expected one of {PREFERENCES}")


def _positions(keys: list[int], values: IntArray) -> IntArray:
    """Position of every value in keys (distinct integers), -1 where absent."""
    arr = np.fromiter(keys, np.int64, len(keys))
    out = np.full(values.size, -1, dtype=np.int64)
    if not arr.size or not values.size:
        return out
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo <= 4 * arr.size + 4096:  # compact ids (database keys): a lookup table
        table = np.full(hi - lo + 1, -1, dtype=np.int64)
        table[arr - lo] = np.arange(arr.size)
        inside = (values >= lo) & (values <= hi)
        out[inside] = table[values[inside] - lo]
        return out
    order = np.argsort(arr)
    at = np.minimum(np.searchsorted(arr[order], values), arr.size - 1)
    found = arr[order][at] == values
    out[found] = order[at[found]]
    return out


class _Instance:
    """Validated input in array form: slots by start-time rank, edges sorted by (row, column)."""

    slot_objs: list[Slot]  # by rank (start, id)
    inv_ids: list[int]  # sorted invitee ids
    fixed: list[tuple[int, int, str | None]]  # (invitee index, slot rank, preference)
    waiting: BoolArray  # per invitee index: not in a confirmed meeting
    has_pick: BoolArray  # per invitee index: picked at least one slot
    hp_rank: BoolArray  # per slot rank: high priority
    hp_list: list[bool]  # the same as a list
    slot_ids: list[int]  # per slot rank
    ticks: int  # tie-break resolution T

    n: int  # rows (active invitees)
    m: int  # real columns (active slots); dummy column of row r is m + r
    row_inv: IntArray  # invitee index of each row
    col_rank: IntArray  # slot rank of each real column
    erow: IntArray
    ecol: IntArray
    ecost: IntArray
    is_dummy: BoolArray
    e_pref: BoolArray
    indptr: IntArray  # edges of row r: indptr[r]:indptr[r + 1], dummy last
    _by_col: tuple[IntArray, IntArray] | None  # see col_order, col_ptr
    cbase: int  # cost of the dummy ("unscheduled") edge
    _fixed_items: list[tuple[int, Assignment]] | None
    _fixed_score: tuple[int, int]
    _assignments: dict[int, Assignment]  # per edge, shared by the schedules
    _unscheduled_cache: dict[int, Unscheduled]

    @classmethod
    def build(
        cls,
        slots: Iterable[Slot],
        invitees: Iterable[int],
        picks: Iterable[Pick],
        confirmed: Iterable[Meeting],
    ) -> _Instance:
        """Validate the input and build the sparse assignment problem."""
        self = cls()
        self._fixed_items = None
        self._fixed_score = (0, 0)
        self._assignments = {}
        self._unscheduled_cache = {}
        slot_list = sorted(slots, key=_SLOT_ORDER)
        n_slots = len(slot_list)
        slot_ids = [s.id for s in slot_list]
        self.slot_ids = slot_ids
        if len(set(slot_ids)) != n_slots:
            dup = next(sid for sid, times in Counter(slot_ids).items() if times > 1)
            raise ValueError(f"duplicate slot id {dup!r}")
        self.slot_objs = slot_list
        inv_ids = sorted(set(invitees))
        self.inv_ids = inv_ids
        # id -> position maps, built only where the arrays cannot do (bad input, confirmed meetings)
        rank_of: dict[int, int] = {}
        index_of: dict[int, int] = {}
        confirmed_list = list(confirmed)
        if confirmed_list:
            rank_of = {sid: r for r, sid in enumerate(slot_ids)}
            index_of = {i: x for x, i in enumerate(inv_ids)}

        pick_list = picks if isinstance(picks, list) else list(picks)
        n_picks = len(pick_list)
        try:
            inv_arr = _positions(inv_ids, np.fromiter(map(_INVITEE, pick_list), np.int64, n_picks))
            slot_arr = _positions(slot_ids, np.fromiter(map(_SLOT, pick_list), np.int64, n_picks))
            pref_bit = np.fromiter(map(_IF_NEED_BE.__getitem__, map(_PREFERENCE, pick_list)), np.int64, n_picks)
            if n_picks and min(inv_arr.min(), slot_arr.min()) < 0:
                raise KeyError
        except (KeyError, TypeError, ValueError, OverflowError):
            # Unknown ids or preferences, or ids that are not machine integers: go the slow way.
            rank_of = {sid: r for r, sid in enumerate(slot_ids)}
            index_of = {i: x for x, i in enumerate(inv_ids)}
            _reject_picks(pick_list, index_of, rank_of)
            inv_arr = np.fromiter(map(index_of.__getitem__, map(_INVITEE, pick_list)), np.int64, n_picks)
            slot_arr = np.fromiter(map(rank_of.__getitem__, map(_SLOT, pick_list)), np.int64, n_picks)
            pref_bit = np.fromiter(map(_IF_NEED_BE.__getitem__, map(_PREFERENCE, pick_list)), np.int64, n_picks)

        # Sort by (invitee, slot, preferred first) in one key; duplicates keep the better preference.
        key = np.sort(((inv_arr * max(n_slots, 1)) + slot_arr) * 2 + pref_bit)
        pair = key >> 1
        first = np.ones(key.size, dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        key = key[first]
        pref_arr = (key & 1) == 0
        inv_arr, slot_arr = np.divmod(key >> 1, max(n_slots, 1))

        # Confirmed meetings.
        fixed_slot_of: dict[int, int] = {}
        fixed_inv_of: dict[int, int] = {}
        for mt in confirmed_list:
            if mt.invitee not in index_of:
                raise ValueError(f"confirmed meeting {mt!r} names unknown invitee {mt.invitee!r}")
            if mt.slot not in rank_of:
                raise ValueError(f"confirmed meeting {mt!r} names unknown slot {mt.slot!r}")
            x, r = index_of[mt.invitee], rank_of[mt.slot]
            if fixed_slot_of.get(x, r) != r:
                raise ValueError(f"invitee {mt.invitee!r} has two confirmed meetings")
            if fixed_inv_of.get(r, x) != x:
                raise ValueError(f"slot {mt.slot!r} has two confirmed meetings")
            fixed_slot_of[x] = r
            fixed_inv_of[r] = x
        n_inv = len(inv_ids)
        fixed_inv = np.zeros(n_inv, dtype=bool)
        fixed_inv[list(fixed_slot_of)] = True
        fixed_slot = np.zeros(n_slots, dtype=bool)
        fixed_slot[list(fixed_inv_of)] = True
        fixed_pref: dict[tuple[int, int], str] = {}
        for j in np.flatnonzero(fixed_inv[inv_arr]).tolist():
            fixed_pref[(int(inv_arr[j]), int(slot_arr[j]))] = PREFERENCES[0] if pref_arr[j] else PREFERENCES[1]
        self.fixed = sorted(((x, r, fixed_pref.get((x, r))) for x, r in fixed_slot_of.items()), key=lambda f: f[1])
        # Whoever is not in a schedule: never answered, or every slot they picked is taken.
        self.has_pick = np.zeros(n_inv, dtype=bool)
        self.has_pick[inv_arr] = True
        self.waiting = ~fixed_inv

        # Active edges: neither the invitee nor the slot is taken by a confirmed meeting.
        if fixed_slot_of:
            act = ~fixed_inv[inv_arr] & ~fixed_slot[slot_arr]
            inv_arr, slot_arr, pref_arr = inv_arr[act], slot_arr[act], pref_arr[act]
        # Rows: invitees with an active pick; columns: slots with one -- both in id / time order.
        has_row = np.bincount(inv_arr, minlength=n_inv) > 0
        row_inv = np.flatnonzero(has_row)
        has_col = np.bincount(slot_arr, minlength=n_slots) > 0
        col_rank = np.flatnonzero(has_col)
        n, m = row_inv.size, col_rank.size
        self.n, self.m = n, m
        self.row_inv, self.col_rank = row_inv, col_rank
        rows = (np.cumsum(has_row) - 1)[inv_arr]
        cols = (np.cumsum(has_col) - 1)[slot_arr]
        hp_slot = np.fromiter(map(_HIGH_PRIORITY, slot_list), dtype=bool, count=n_slots)
        self.hp_rank = hp_slot
        self.hp_list = hp_slot.tolist()
        hp_edge = hp_slot[slot_arr]

        n_hp = int(hp_slot[col_rank].sum())
        n_pref = int(np.count_nonzero(np.bincount(rows[pref_arr], minlength=n)))
        ticks = _tie_break_ticks(n, m, n_hp, n_pref, n_slots)
        self.ticks = ticks
        w_sched, w_hp, w_pref, base = _level_weights(n, m, n_hp, n_pref, ticks)
        self.cbase = base
        bucket = slot_arr * (ticks + 1) // max(n_slots, 1)
        weight = w_sched + w_hp * hp_edge + w_pref * pref_arr + (ticks - bucket)

        # Interleave one dummy edge at the end of every row: real edge i of row r moves to i + r.
        counts = np.bincount(rows, minlength=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts + 1, out=indptr[1:])
        e = int(indptr[-1])
        real_pos = np.arange(rows.size, dtype=np.int64) + rows
        dummy_pos = indptr[1:] - 1
        erow = np.empty(e, dtype=np.int64)
        ecol = np.empty(e, dtype=np.int64)
        ecost = np.empty(e, dtype=np.int64)
        e_pref = np.zeros(e, dtype=bool)
        is_dummy = np.zeros(e, dtype=bool)
        erow[real_pos], ecol[real_pos], ecost[real_pos] = rows, cols, base - weight
        e_pref[real_pos] = pref_arr
        r_all = np.arange(n, dtype=np.int64)
        erow[dummy_pos], ecol[dummy_pos], ecost[dummy_pos] = r_all, m + r_all, base
        is_dummy[dummy_pos] = True
        self.erow, self.ecol, self.ecost = erow, ecol, ecost
        self.e_pref, self.is_dummy, self.indptr = e_pref, is_dummy, indptr
        self._by_col = None
        return self

    @property
    def col_order(self) -> IntArray:
        """Edge indices sorted by column (rows ascending within a column)."""
        return self._columns()[0]

    @property
    def col_ptr(self) -> IntArray:
        """Edges of column c are col_order[col_ptr[c]:col_ptr[c + 1]]."""
        return self._columns()[1]

    def _columns(self) -> tuple[IntArray, IntArray]:
        """Column grouping of the edges, computed on first use."""
        if self._by_col is None:
            ecol, c = self.ecol, self.n_cols
            # (a stable sort of 16-bit keys is a radix sort: much faster when the columns fit)
            order = np.argsort(ecol.astype(np.uint16) if c <= 0xFFFF else ecol, kind="stable")
            ptr = np.zeros(c + 1, dtype=np.int64)
            np.cumsum(np.bincount(ecol, minlength=c), out=ptr[1:])
            self._by_col = (order, ptr)
        return self._by_col

    @property
    def n_cols(self) -> int:
        """Number of columns: real slots plus one dummy per row."""
        return self.m + self.n

    def edge(self, row: int, col: int) -> int:
        """Index of edge (row, col)."""
        lo, hi = int(self.indptr[row]), int(self.indptr[row + 1])
        return lo + int(np.searchsorted(self.ecol[lo:hi], col))

    def schedule(self, match: IntArray) -> Schedule:
        """Turn a matching (edge index per row) into a public Schedule."""
        if self._fixed_items is None:
            slots, inv_ids = self.slot_objs, self.inv_ids
            self._fixed_items = [
                (r, Assignment(inv_ids[x], slots[r].id, slots[r].high_priority, p, True)) for x, r, p in self.fixed
            ]
            self._fixed_score = (
                sum(slots[r].high_priority for _, r, _ in self.fixed),
                sum(p == PREFERENCES[0] for _, _, p in self.fixed),
            )
        real = match[~self.is_dummy[match]]
        ranks = self.col_rank[self.ecol[real]]
        order = np.argsort(ranks, kind="stable")
        real, ranks = real[order], ranks[order]
        edges = real.tolist()
        cache = self._assignments
        missing = [e for e in edges if e not in cache] if cache else edges
        if missing:
            miss = np.array(missing, dtype=np.int64)
            miss_ranks = self.col_rank[self.ecol[miss]].tolist()
            made = _new_assignments(
                map(self.inv_ids.__getitem__, self.row_inv[self.erow[miss]].tolist()),
                map(self.slot_ids.__getitem__, miss_ranks),
                map(self.hp_list.__getitem__, miss_ranks),
                map(_PREFERENCE_TEXT.__getitem__, self.e_pref[miss].tolist()),
                len(missing),
            )
            cache.update(zip(missing, made, strict=True))
        found = list(map(cache.__getitem__, edges))
        if self._fixed_items:
            merged = sorted([*self._fixed_items, *zip(ranks.tolist(), found, strict=True)], key=_FIRST)
            assignments = tuple(a for _, a in merged)
        else:
            assignments = tuple(found)
        hp_fixed, pref_fixed = self._fixed_score
        score = Score(
            len(assignments),
            hp_fixed + int(np.count_nonzero(self.hp_rank[ranks])),
            pref_fixed + int(np.count_nonzero(self.e_pref[real])),
        )
        scheduled = np.zeros(len(self.inv_ids), dtype=bool)
        scheduled[self.row_inv[self.erow[real]]] = True
        unscheduled = tuple(map(self._unscheduled, np.flatnonzero(self.waiting & ~scheduled).tolist()))
        return Schedule(score, assignments, unscheduled)

    def _unscheduled(self, x: int) -> Unscheduled:
        """The Unscheduled entry of invitee index x (why they are left out never changes)."""
        item = self._unscheduled_cache.get(x)
        if item is None:
            reason = REASONS[1] if self.has_pick[x] else REASONS[0]
            item = self._unscheduled_cache[x] = Unscheduled(self.inv_ids[x], reason)
        return item


def _everybody_fits(inst: _Instance) -> bool:
    """Can every row be scheduled at once (Hopcroft-Karp on the real edges)?"""
    real = ~inst.is_dummy
    ptr = (inst.indptr - np.arange(inst.n + 1)).astype(np.int32)
    cols = inst.ecol[real].astype(np.int32)
    pattern = csr_array((np.ones(cols.size), cols, ptr), shape=(inst.n, inst.m))
    return bool(np.all(maximum_bipartite_matching(pattern, perm_type="column") >= 0))


def _root_match(inst: _Instance, square: bool | None = None) -> IntArray:
    """An optimal matching of inst (edge index per row).

    When everybody can be scheduled (then every optimum schedules everybody, so the dummy
    columns are dropped) the problem is padded to a square one: one "slot unused" row per
    slot, joined at cost 0 to its own slot and to the token column of every invitee who picked
    it.  A full matching then gives every slot either a meeting or its unused row, and every
    invitee's token to the unused row of some slot they picked -- the slot they meet in will
    do -- so the real edges of its optimum are an optimum of the rectangular problem.  On a
    square problem scipy's LAPJVsp first runs LAPJV's column reduction and augmenting row
    reduction, which settle most rows, so only the few rows left pay a shortest augmenting
    path with its reset over every column (the rectangular solve pays that reset for all n
    rows).  When somebody must stay out, the rectangular solve with the dummy columns stays:
    there the augmenting row reduction's bidding wars have to lift slot prices to the cost of
    leaving somebody out in steps of the smallest cost difference (pseudo-polynomial: seconds
    on 2,000 invitees with two picks each).  ``square`` forces one solve or the other (tests).
    """
    n, m = inst.n, inst.m
    real = ~inst.is_dummy
    real_ptr = (inst.indptr - np.arange(n + 1)).astype(np.int32)
    real_cols = inst.ecol[real].astype(np.int32)
    everybody = _everybody_fits(inst)
    if square is None:
        square = everybody
    if square and not everybody:
        raise ValueError("the square solve needs a schedule with everybody in it")
    if square:
        # Rows: invitees, then one "unused" row per slot; columns: slots, then a token per invitee.
        by_col = inst.col_order[: int(inst.col_ptr[m])]  # real edges by slot, rows ascending
        e_real = real_cols.size
        ptr = np.empty(n + m + 1, dtype=np.int32)
        ptr[: n + 1] = real_ptr
        np.cumsum(np.diff(inst.col_ptr[: m + 1]) + 1, out=ptr[n + 1 :])
        ptr[n + 1 :] += e_real
        idx = np.empty(e_real + m + by_col.size, dtype=np.int32)
        idx[:e_real] = real_cols
        heads = ptr[n:-1]
        idx[heads] = np.arange(m, dtype=np.int32)
        tail = np.ones(idx.size, dtype=bool)
        tail[:e_real] = False
        tail[heads] = False
        idx[tail] = m + inst.erow[by_col]
        data = np.ones(idx.size)  # cost 0 for the unused rows, as 1: scipy drops zeros, and each such row pays it once
        data[:e_real] = inst.ecost[real]
        graph = csr_array((data, idx, ptr), shape=(n + m, n + m))
    elif everybody:
        graph = csr_array((inst.ecost[real].astype(np.float64), real_cols, real_ptr), shape=(n, m))
    else:
        graph = csr_array(
            (inst.ecost.astype(np.float64), inst.ecol.astype(np.int32), inst.indptr.astype(np.int32)),
            shape=(n, inst.n_cols),
        )
    col_ind = min_weight_full_bipartite_matching(graph)[1][:n]
    matched = np.flatnonzero(inst.ecol == col_ind[inst.erow])
    match = np.empty(n, dtype=np.int64)
    match[inst.erow[matched]] = matched
    return match


# --------------------------------------------------------------------------- #
# k-best search
# --------------------------------------------------------------------------- #


@dataclass
class _Node:
    """A solved Murty subproblem: its optimal matching, duals and constraints."""

    cost: int
    match: IntArray  # edge index per row (forced rows keep theirs)
    owner: IntArray  # row covering each column, -1 if free
    u: IntArray | None  # row duals; reduced cost = ecost - u[row] + pi[col] >= 0
    pi: IntArray | None  # column duals (pi = -v), 0 on free non-required columns
    row_active: BoolArray  # False once the row's edge is forced
    col_active: BoolArray  # False once the column is used by a forced row or forced free
    required: BoolArray  # column must be covered by a real row
    allowed: BoolArray  # per edge


@dataclass
class _Group:
    """The lazily evaluated children of one solved node, sorted by lower bound."""

    parent: _Node
    pos: IntArray  # partition position per row (0 for inactive rows)
    bounds: list[int]
    rows: list[int]
    kinds: list[int]
    cursor: int = 0


@dataclass
class _ChildState:
    """A child subproblem being solved: its parent's optimum with the child's constraints applied."""

    match: IntArray
    owner: IntArray
    u: IntArray
    pi: IntArray
    row_active: BoolArray
    col_active: BoolArray
    required: BoolArray
    allowed: BoolArray
    free_rows: list[int]  # rows still to re-augment, in order
    target: int = -1  # column the first path must end at (-1: any free column)
    graph: csr_array | None = None  # the current search graph, kept if a bounded search gave up


@dataclass
class _Pending:
    """One child of a group, waiting under a lower bound."""

    group: _Group
    state: _ChildState | None
    deferred: bool = False  # a bounded search already showed it costs more than the bound it had


class _Search:
    """Murty's k-best assignments with lazy bounds and warm-started child solves."""

    def __init__(self, inst: _Instance) -> None:
        self.inst = inst

    # -- root ---------------------------------------------------------------
    def root(self) -> _Node:
        """Optimal matching of the whole problem (sparse LAPJV, square when everybody fits)."""
        inst = self.inst
        n, c = inst.n, inst.n_cols
        match = _root_match(inst) if n else np.zeros(0, dtype=np.int64)
        owner = np.full(c, -1, dtype=np.int64)
        owner[inst.ecol[match]] = np.arange(n)
        return _Node(
            cost=int(inst.ecost[match].sum()),
            match=match,
            owner=owner,
            u=None,
            pi=None,
            row_active=np.ones(n, dtype=bool),
            col_active=np.ones(c, dtype=bool),
            required=np.zeros(c, dtype=bool),
            allowed=np.ones(inst.erow.size, dtype=bool),
        )

    def root_duals(self, node: _Node) -> None:
        """Optimal duals of the root matching: Bellman-Ford from the free columns."""
        inst = self.inst
        c = inst.n_cols
        match = node.match
        mcost = inst.ecost[match]
        unmatched = np.ones(inst.erow.size, dtype=bool)
        unmatched[match] = False
        # Arc col' -> col(match[r]) of length cost(r, col') - cost(match[r]) for every other edge of r.
        src = inst.ecol[unmatched]
        dst = inst.ecol[match][inst.erow[unmatched]]
        wgt = inst.ecost[unmatched] - mcost[inst.erow[unmatched]]
        order = np.argsort(src, kind="stable")
        src, dst, wgt = src[order], dst[order], wgt[order]
        ptr = np.zeros(c + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=c), out=ptr[1:])
        inf = np.iinfo(np.int64).max // 4
        pi = np.where(node.owner >= 0, inf, 0).astype(np.int64)
        frontier = np.flatnonzero(node.owner < 0)
        for _ in range(c + 1):
            starts, lens = ptr[frontier], ptr[frontier + 1] - ptr[frontier]
            total = int(lens.sum())
            if not total:
                break
            idx = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
            cand = pi[src[idx]] + wgt[idx]
            new = pi.copy()
            np.minimum.at(new, dst[idx], cand)
            frontier = np.flatnonzero(new < pi)
            pi = new
            if not frontier.size:
                break
        else:  # pragma: no cover - an optimal matching has no negative cycle
            raise RuntimeError("negative cycle: root matching is not optimal")
        if np.any(pi >= inf) or np.any(pi < 0):  # pragma: no cover
            raise RuntimeError("root matching is not optimal")
        node.pi = pi
        node.u = mcost + pi[inst.ecol[match]]

    # -- children -----------------------------------------------------------
    def _row_min(self, values: IntArray, mask: BoolArray) -> IntArray:
        """Per row, the smallest value over the masked edges (_INF if none)."""
        return np.minimum.reduceat(np.where(mask, values, _INF), self.inst.indptr[:-1])

    def _col_min(self, values: IntArray, mask: BoolArray) -> IntArray:
        """Per column, the smallest value over the masked edges (_INF if none)."""
        inst = self.inst
        return np.minimum.reduceat(np.where(mask, values, _INF)[inst.col_order], inst.col_ptr[:-1])

    def children(self, node: _Node) -> _Group | None:
        """Partition the node's remaining space; give each child a lower bound on its cost."""
        inst = self.inst
        u, pi = node.u, node.pi
        assert u is not None and pi is not None
        erow, ecol, is_dummy = inst.erow, inst.ecol, inst.is_dummy
        n = inst.n
        active_rows = np.flatnonzero(node.row_active)
        if not active_rows.size:
            return None
        match = node.match
        live = node.allowed & node.row_active[erow] & node.col_active[ecol]
        live[match] = False
        rc = inst.ecost - u[erow] + pi[ecol]

        # Partition order: rows whose cheapest change is most expensive go first, so the
        # promising children are the ones with many forced edges and tight bounds.
        pre = self._row_min(rc, live)
        order = active_rows[np.lexsort((active_rows, -pre[active_rows]))]
        pos = np.zeros(n, dtype=np.int64)
        pos[order] = np.arange(1, order.size + 1)
        big = n + 2
        colpos = np.zeros(inst.n_cols, dtype=np.int64)  # 0: unusable column
        colpos[node.col_active & (node.owner < 0)] = big  # free
        covered = node.col_active & (node.owner >= 0)
        colpos[covered] = pos[node.owner[covered]]

        # Child t (the row at position t changes) keeps rows 1..t-1 and their columns fixed.
        epos = pos[erow]
        ecolpos = colpos[ecol]
        row_ok = live & (ecolpos > epos)  # where the row may move in the child it heads
        row_all = self._row_min(rc, row_ok)
        row_real = self._row_min(rc, row_ok & ~is_dummy)
        col_real = self._col_min(rc, live & ~is_dummy & (epos > ecolpos))  # a later row takes the column
        # A column cannot be left free if an earlier (now fixed) row is unscheduled and picked it.
        first_unsched = self._col_min(epos, (node.row_active & is_dummy[match])[erow] & ~is_dummy)

        rows = order
        mcol = ecol[match[rows]]
        dummy_row = is_dummy[match[rows]]
        real = ~dummy_row
        # A child costs nothing more only if its path exists among zero-reduced-cost arcs.
        same_scc, reaches_free = self._tight_reach(node, rc, live)
        at_least_one = (~same_scc[rows]).astype(np.int64)
        b_swap = np.where(real, np.maximum(row_all[rows] + col_real[mcol], at_least_one), _INF)
        first_path = np.maximum(row_real[rows], (~reaches_free[rows]).astype(np.int64))
        no_free = dummy_row | node.required[mcol] | (first_unsched[mcol] < pos[rows])
        b_free = np.where(no_free, _INF, pi[mcol] + first_path)
        b_sched = np.where(dummy_row, pi[mcol] + first_path, _INF)
        bounds = np.concatenate([b_swap, b_free, b_sched])
        kinds = np.repeat(np.array([_SWAP, _FREE, _SCHED]), rows.size)
        crow = np.tile(rows, 3)
        ok = bounds < _INF
        bounds, kinds, crow = bounds[ok], kinds[ok], crow[ok]
        if not bounds.size:
            return None
        srt = np.lexsort((kinds, pos[crow], bounds))
        return _Group(
            parent=node,
            pos=pos,
            bounds=(bounds[srt] + node.cost).tolist(),
            rows=crow[srt].tolist(),
            kinds=kinds[srt].tolist(),
        )

    def _tight_reach(self, node: _Node, rc: IntArray, live: BoolArray) -> tuple[BoolArray, BoolArray]:
        """Per row: is its matched column reachable, and is a free column, along zero-cost arcs?

        The residual graph of zero-reduced-cost arcs (row -> column for tight edges, column -> the
        row covering it, free column -> hub -> columns whose dual is 0) is built directly in CSR
        form, forwards for its strongly connected components and backwards to find who reaches
        the hub.
        """
        inst = self.inst
        n, c = inst.n, inst.n_cols
        hub = n + c
        pi = node.pi
        assert pi is not None
        tight = live & (rc == 0)
        covered = node.col_active & (node.owner >= 0)
        may_be_free = node.col_active & ~node.required
        free = may_be_free & (node.owner < 0)
        hub_to = may_be_free & (pi == 0)

        def csr(counts: list[IntArray], targets: list[IntArray]) -> csr_array:
            ptr = np.zeros(hub + 2, dtype=np.int64)
            np.cumsum(np.concatenate(counts), out=ptr[1:])
            idx = np.concatenate(targets)
            return csr_array((np.ones(idx.size), idx, ptr), shape=(hub + 1, hub + 1))

        tight_rows = np.bincount(inst.erow[tight], minlength=n)
        forward = csr(
            [tight_rows, (covered | free).astype(np.int64), [np.count_nonzero(hub_to)]],
            [n + inst.ecol[tight], np.where(covered, node.owner, hub)[covered | free], n + np.flatnonzero(hub_to)],
        )
        _, labels = connected_components(forward, directed=True, connection="strong")
        same_scc = labels[:n] == labels[n + inst.ecol[node.match]]

        by_col = inst.col_order[tight[inst.col_order]]
        own = node.owner[covered]  # each covered column's row, reversed: row -> its column
        row_back = np.zeros(n, dtype=np.int64)
        row_back[own] = 1
        row_col = np.empty(n, dtype=np.int64)
        row_col[own] = n + np.flatnonzero(covered)
        backward = csr(
            [row_back, np.bincount(inst.ecol[by_col], minlength=c) + hub_to, [np.count_nonzero(free)]],
            [
                row_col[row_back > 0],
                self._merge_hub(inst.erow[by_col], inst.ecol[by_col], hub_to, hub),
                n + np.flatnonzero(free),
            ],
        )
        reaches = np.zeros(hub + 1, dtype=bool)
        reaches[breadth_first_order(backward, hub, directed=True, return_predecessors=False)] = True
        return same_scc, reaches[:n]

    @staticmethod
    def _merge_hub(rows: IntArray, cols: IntArray, hub_to: BoolArray, hub: int) -> IntArray:
        """Targets of the backward arcs out of every column: its tight rows, then the hub if marked."""
        extra = np.flatnonzero(hub_to)
        key = np.concatenate([cols * 2, extra * 2 + 1])
        order = np.argsort(key, kind="stable")
        return np.concatenate([rows, np.full(extra.size, hub)])[order]

    def solve_child(self, group: _Group, row: int, kind: int) -> _ChildState | None:
        """The parent's optimum with the child's constraints applied, before re-augmenting (None: infeasible)."""
        inst = self.inst
        parent = group.parent
        assert parent.u is not None and parent.pi is not None
        erow, ecol, is_dummy = inst.erow, inst.ecol, inst.is_dummy
        pos = group.pos
        t = pos[row]
        forced = parent.row_active & (pos < t)
        st = _ChildState(
            match=parent.match.copy(),
            owner=parent.owner.copy(),
            u=parent.u.copy(),
            pi=parent.pi.copy(),
            row_active=parent.row_active & ~forced,
            col_active=parent.col_active.copy(),
            required=parent.required.copy(),
            allowed=parent.allowed.copy(),
            free_rows=[row],
        )
        match, owner, col_active = st.match, st.owner, st.col_active
        col_active[ecol[match[forced]]] = False
        forced_unsched = forced & is_dummy[match]
        if forced_unsched.any():  # a row fixed as unscheduled: the slots it picked must stay taken
            st.required[ecol[forced_unsched[erow] & ~is_dummy]] = True

        e_t = int(match[row])
        c_t = int(ecol[e_t])
        st.allowed[e_t] = False
        match[row] = -1
        owner[c_t] = -1
        if kind == _SWAP:
            st.required[c_t] = True
            st.target = c_t
        elif kind == _FREE:
            if st.required[c_t]:
                return None
            col_active[c_t] = False
            adj_rows = erow[inst.col_order[inst.col_ptr[c_t] : inst.col_ptr[c_t + 1]]]
            st.allowed[inst.indptr[adj_rows + 1] - 1] = False  # they must be scheduled
            for r in adj_rows.tolist():
                if r != row and st.row_active[r] and is_dummy[match[r]]:
                    d = int(ecol[match[r]])
                    col_active[d] = False
                    owner[d] = -1
                    match[r] = -1
                    st.free_rows.append(r)
        else:  # _SCHED: the row's dummy column is now useless
            col_active[c_t] = False
        return st

    def finish_child(self, st: _ChildState, limit: int | None) -> _Node | _ChildState | None:
        """Re-augment a child to its optimum (None: infeasible).

        With a limit, give up -- returning the state, search graph kept -- as soon as the cost
        provably exceeds the parent's by more than the limit: the first path's length is a lower
        bound on the increase (the other terms are >= 0).
        """
        while st.free_rows:
            found = self._augment(st, limit)
            if found is not None:
                return st if found else None
            st.free_rows.pop(0)
            st.target, st.graph, limit = -1, None, None
        return _Node(
            cost=int(self.inst.ecost[st.match].sum()),
            match=st.match,
            owner=st.owner,
            u=st.u,
            pi=st.pi,
            row_active=st.row_active,
            col_active=st.col_active,
            required=st.required,
            allowed=st.allowed,
        )

    def _search_graph(self, st: _ChildState) -> csr_array:
        """Residual graph on reduced costs: rows, then columns, then a hub standing for "left free"."""
        inst = self.inst
        n, c = inst.n, inst.n_cols
        erow, ecol = inst.erow, inst.ecol
        hub = n + c
        match, owner, col_active, required = st.match, st.owner, st.col_active, st.required
        fwd = st.allowed & st.row_active[erow] & col_active[ecol]
        fwd[match[match >= 0]] = False
        rc = inst.ecost[fwd] - st.u[erow[fwd]] + st.pi[ecol[fwd]]
        # Column nodes: covered -> its row (0); free and not required -> hub (0).
        col_to_row = col_active & (owner >= 0)
        col_to_hub = col_active & (owner < 0) & ~required
        col_arc = col_to_row | col_to_hub
        col_dst = np.where(col_to_row, owner, hub)[col_arc]
        # Hub -> every usable column that may stay free, at its dual (>= 0).
        hub_cols = np.flatnonzero(col_active & ~required)
        counts = np.concatenate([np.bincount(erow[fwd], minlength=n), col_arc.astype(np.int64), [hub_cols.size]])
        ptr = np.zeros(hub + 2, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        indices = np.concatenate([n + ecol[fwd], col_dst, n + hub_cols])
        data = np.concatenate([rc, np.zeros(col_dst.size, dtype=np.int64), st.pi[hub_cols]]).astype(np.float64)
        return csr_array((data, indices, ptr), shape=(hub + 1, hub + 1))

    def _augment(self, st: _ChildState, limit: int | None) -> bool | None:
        """Shortest augmenting path from the first free row (to st.target, or to any free column).

        Updates the matching and duals in place and returns None; returns False if there is no
        augmenting path, True if there is none of length <= limit.
        """
        inst = self.inst
        n, c = inst.n, inst.n_cols
        hub = n + c
        src, target = st.free_rows[0], st.target
        if st.graph is None:
            st.graph = self._search_graph(st)
        bounded = {} if limit is None else {"limit": float(limit)}
        dist, pred = dijkstra(st.graph, directed=True, indices=src, return_predecessors=True, **bounded)
        end = n + target if target >= 0 else int(pred[hub])
        if end < 0 or not np.isfinite(dist[end]):
            return limit is not None
        match, owner, u, pi = st.match, st.owner, st.u, st.pi
        reach = dist[end]
        step = np.minimum(dist, reach).astype(np.int64)
        u -= step[:n]
        pi -= step[n:hub]
        # Walk the path back; hub -> col frees col, row -> col assigns it.
        node = end
        while node != src:
            prev = int(pred[node])
            if prev == hub:
                owner[node - n] = -1
            elif prev < n:
                col = node - n
                match[prev] = inst.edge(prev, col)
                owner[col] = prev
            node = prev
        # Re-centre: free columns share the smallest dual among columns that may stay free; make it 0.
        may_be_free = st.col_active & ~st.required
        if may_be_free.any():
            shift = pi[may_be_free].min()
            pi -= shift
            u -= shift
        return None

    # -- driver -------------------------------------------------------------
    def best(self, k: int) -> list[_Node]:
        """The k best maximal matchings (fewer if there are fewer), best first."""
        root = self.root()
        out: list[_Node] = []
        seq = count()
        # Entries (cost or lower bound, 0 if exact, tie-breaker, item); exact ones win ties.
        heap: list[tuple[int, int, int, _Node | _Group | _Pending]] = [(root.cost, 0, next(seq), root)]
        while heap and len(out) < k:
            item = heapq.heappop(heap)[3]
            if isinstance(item, _Node):
                out.append(item)
                if len(out) == k:
                    break
                if item.u is None:
                    self.root_duals(item)
                group = self.children(item)
                if group is not None:
                    heapq.heappush(heap, (group.bounds[0], 1, next(seq), group))
                continue
            if isinstance(item, _Group):
                group, i = item, item.cursor
                group.cursor += 1
                if group.cursor < len(group.bounds):
                    heapq.heappush(heap, (group.bounds[group.cursor], 1, next(seq), group))
                pending = _Pending(group, self.solve_child(group, group.rows[i], group.kinds[i]))
            else:
                pending = item
            if pending.state is None:
                continue  # infeasible
            # At first only a cost up to the next candidate's matters: beyond it a better bound
            # will do, and a bounded search is cheaper.  A child that comes back is solved outright.
            base = pending.group.parent.cost
            limit = heap[0][0] - base if heap and not pending.deferred else None
            child = self.finish_child(pending.state, limit)
            if isinstance(child, _Node):
                heapq.heappush(heap, (child.cost, 0, next(seq), child))
            elif child is not None and limit is not None:
                pending.deferred = True
                heapq.heappush(heap, (base + limit + 1, 1, next(seq), pending))
        return out


# --------------------------------------------------------------------------- #
# Explanations
# --------------------------------------------------------------------------- #


def _match_of(inst: _Instance, schedule: Schedule) -> IntArray:
    """The schedule as a matching of inst (edge index per row, dummy if unscheduled).

    Raises ValueError if it is not a schedule of this input: a meeting on a pair nobody picked,
    a clash, a confirmed meeting missing or made up, or the wrong invitees left out.
    """
    wrong = "schedule does not belong to these inputs"
    index_of = {i: x for x, i in enumerate(inst.inv_ids)}
    rank_of = {sid: r for r, sid in enumerate(inst.slot_ids)}
    fixed = {(inst.inv_ids[x], inst.slot_ids[r]) for x, r, _ in inst.fixed}
    if {(a.invitee, a.slot) for a in schedule.assignments if a.fixed} != fixed:
        raise ValueError(f"{wrong}: its confirmed meetings differ")
    moving = [a for a in schedule.assignments if not a.fixed]
    try:
        xs = np.array([index_of[a.invitee] for a in moving], dtype=np.int64)
        ranks = np.array([rank_of[a.slot] for a in moving], dtype=np.int64)
    except (KeyError, TypeError):
        raise ValueError(f"{wrong}: unknown invitee or slot") from None
    n_inv, n_slots = len(inst.inv_ids), len(inst.slot_ids)
    row_of = np.full(n_inv, -1, dtype=np.int64)
    row_of[inst.row_inv] = np.arange(inst.n)
    col_of = np.full(n_slots, -1, dtype=np.int64)
    col_of[inst.col_rank] = np.arange(inst.m)
    rows, cols = row_of[xs], col_of[ranks]
    width = inst.n_cols
    keys = inst.erow * width + inst.ecol  # sorted: edges are by (row, column)
    want = rows * width + cols
    at = np.minimum(np.searchsorted(keys, want), max(keys.size - 1, 0))
    if np.any(rows < 0) or np.any(cols < 0) or (want.size and np.any(keys[at] != want)):
        raise ValueError(f"{wrong}: a meeting on a slot the invitee did not pick (or a confirmed one)")
    if np.unique(rows).size != rows.size or np.unique(cols).size != cols.size:
        raise ValueError(f"{wrong}: an invitee or a slot has two meetings")
    match = inst.indptr[1:] - 1  # every row on its dummy ...
    match[rows] = at  # ... but the scheduled ones
    scheduled = np.zeros(n_inv, dtype=bool)
    scheduled[xs] = True
    left_out = np.flatnonzero(inst.waiting & ~scheduled).tolist()
    if [u.invitee for u in schedule.unscheduled] != [inst.inv_ids[x] for x in left_out]:
        raise ValueError(f"{wrong}: the invitees left out differ")
    return match


def _columns_left_free(inst: _Instance, match: IntArray) -> tuple[BoolArray, BoolArray]:
    """Real columns some maximum matching leaves free, and rows with an alternating path to a free column.

    Breadth-first search backwards from the free real columns: a covered column is reached when
    its row has an edge to a reached column (that row can move there, leaving its own free).
    """
    n, m = inst.n, inst.m
    real = ~inst.is_dummy
    erow, ecol = inst.erow[real], inst.ecol[real]
    owner = np.full(m, -1, dtype=np.int64)
    scheduled = np.flatnonzero(~inst.is_dummy[match])
    owner[inst.ecol[match[scheduled]]] = scheduled
    hub = n + m
    free = np.flatnonzero(owner < 0)
    # Backward arcs: column -> every row that picked it; scheduled row -> its column; hub -> free columns.
    src = np.concatenate([n + ecol, scheduled, np.full(free.size, hub)])
    dst = np.concatenate([erow, n + inst.ecol[match[scheduled]], n + free])
    graph = csr_array((np.ones(src.size), (src, dst)), shape=(hub + 1, hub + 1))
    reached = np.zeros(hub + 1, dtype=bool)
    reached[breadth_first_order(graph, hub, directed=True, return_predecessors=False)] = True
    return reached[n:hub], reached[:n]


def _score_costs(inst: _Instance) -> IntArray:
    """Edge costs of inst without the start-time tie-break: equal cost iff equal Score."""
    n, m = inst.n, inst.m
    real = ~inst.is_dummy
    hp_edge = inst.hp_rank[inst.col_rank[np.where(real, inst.ecol, 0)]] & real if m else np.zeros_like(real)
    pref_edge = inst.e_pref & real
    n_hp = int(inst.hp_rank[inst.col_rank].sum())
    n_pref = int(np.count_nonzero(np.bincount(inst.erow[pref_edge], minlength=n)))
    w_sched, w_hp, w_pref, base = _level_weights(n, m, n_hp, n_pref, 0)
    weight = np.where(real, w_sched + w_hp * hp_edge + w_pref * pref_edge, 0)
    return (base - weight).astype(np.int64)
