"""Signals: how a lower feature lets the features above it take part without importing them.

Features depend downwards only (accounts ← contacts ← calendars ← scheduling). When a lower feature's
action concerns data a higher one owns — an account is deleted, a slot with a confirmed meeting moves —
the lower feature sends a blinker signal it declares itself, and the higher feature connects a receiver
(the pattern of indico's `signals` package). Receivers run synchronously inside the sender's
transaction, so what they write commits or rolls back with the action. A signal that asks a question
("what should the calendar page show about this slot?") gathers its receivers' answers with `answers`.
"""

from __future__ import annotations

from typing import Any

from blinker import NamedSignal


def answers(signal: NamedSignal, sender: Any, **kwargs: Any) -> list[Any]:
    """The receivers' return values for this send, without the ones that returned None."""
    return [value for _receiver, value in signal.send(sender, **kwargs) if value is not None]
