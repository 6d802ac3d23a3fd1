"""A bounded history of stepping records: at most ``max_steps`` records and about ``max_bytes`` of
arrays; the oldest records go first. Records share unchanged arrays, so each is charged only for
the arrays it added (``_own_bytes``)."""

from __future__ import annotations

from collections import deque

MAX_STEPS = 200
MAX_BYTES = 128 * 2**20


def _arrays(record) -> list:
    """Every array a record keeps alive (caches, grads, weights, ΔW)."""
    found = [a for layer in record.caches for a in layer.values() if a is not None]
    found += [a for layer in record.grads for a in layer.values()]
    found += [a for layer in record.weights.params for a in layer.values()]
    found += list(record.weights.optimizer.values())
    found += [a for layer in (record.update or ()) for a in layer.values()]
    return found


def _own_bytes(record, previous) -> int:
    """Bytes of the arrays ``record`` holds that ``previous`` does not (compared by identity)."""
    shared = {id(a) for a in _arrays(previous)} if previous is not None else set()
    return sum(getattr(a, "nbytes", 0) for a in _arrays(record) if id(a) not in shared)


class StepHistory:
    def __init__(self, max_steps: int = MAX_STEPS, max_bytes: int = MAX_BYTES) -> None:
        self.max_steps, self.max_bytes = max_steps, max_bytes
        self._records: deque = deque()
        self._bytes: deque[int] = deque()

    def __len__(self) -> int:
        return len(self._records)

    @property
    def last(self):
        return self._records[-1] if self._records else None

    @property
    def nbytes(self) -> int:
        return sum(self._bytes)

    def push(self, record) -> None:
        self._bytes.append(_own_bytes(record, self.last))
        self._records.append(record)
        while len(self._records) > 1 and (len(self._records) > self.max_steps or self.nbytes > self.max_bytes):
            self._records.popleft()
            self._bytes.popleft()
            self._bytes[0] = _own_bytes(self._records[0], None)   # it now carries what it shared

    def back(self):
        """Drop the newest record and return the one before it (None when there is none)."""
        if len(self._records) < 2:
            return None
        self._records.pop()
        self._bytes.pop()
        return self._records[-1]

    def clear(self) -> None:
        self._records.clear()
        self._bytes.clear()
