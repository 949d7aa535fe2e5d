"""Long-running operations the way ARM runs them.

A write creates an :class:`Operation`; the resource shows ``Updating`` (or
``Deleting``) until the operation is due, then ``Succeeded`` or ``Failed``.
An operation is due when ``lro_seconds`` have passed since it started and the
status URL has been polled ``in_progress_polls`` times, so a test can make the
status URL answer ``InProgress`` a given number of times, or for a given time.
Completion is applied lazily at the start of every request (``settle``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Operation:
    kind: str  # put | delete | post
    subscription: str
    namespace: str
    location: str
    target_id: str  # the resource (or child) the operation writes
    top_id: str  # the top-level resource whose tree is busy while it runs
    operation_name: str  # e.g. PutRouteTableOperation, as in the RP's conflict messages
    seconds: float
    in_progress_polls: int
    failure: dict | None = None  # {"code", "message"} when the operation ends Failed
    # What to do when it completes successfully / unsuccessfully; set by the engine.
    on_success: Callable[[], None] | None = None
    on_failure: Callable[[], None] | None = None
    result: object = None  # body for the Location (operationResults) answer of a POST
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)
    started_utc: float = field(default_factory=time.time)
    polls: int = 0
    done: bool = False

    def due(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return now - self.started >= self.seconds and self.polls >= self.in_progress_polls

    @property
    def status(self) -> str:
        if not self.done:
            return "InProgress"
        return "Failed" if self.failure else "Succeeded"

    def remaining_seconds(self) -> float:
        return max(0.0, self.seconds - (time.monotonic() - self.started))


class OperationTable:
    def __init__(self) -> None:
        self._ops: dict[str, Operation] = {}

    def add(self, op: Operation) -> Operation:
        self._ops[op.id] = op
        return op

    def get(self, op_id: str) -> Operation | None:
        return self._ops.get(op_id.lower())

    def clear(self) -> None:
        self._ops.clear()

    def settle(self) -> None:
        """Complete every operation that is due."""
        now = time.monotonic()
        for op in list(self._ops.values()):
            if not op.done and op.due(now):
                self.complete(op)

    @staticmethod
    def complete(op: Operation) -> None:
        op.done = True
        callback = op.on_failure if op.failure else op.on_success
        if callback:
            callback()

    def busy(self, top_id: str) -> Operation | None:
        """An unfinished operation on the tree of ``top_id``, if any."""
        wanted = top_id.lower()
        for op in self._ops.values():
            if not op.done and op.top_id.lower() == wanted:
                return op
        return None
