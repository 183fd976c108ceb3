"""Domain errors raised by the service modules; routes turn them into HTTP answers."""

from __future__ import annotations


class ApiProblem(Exception):
    """Base: ``str(err)`` is the message the caller sees."""


class NotFound(ApiProblem):
    """The thing asked for does not exist."""


class Conflict(ApiProblem):
    """The request clashes with the current state (e.g. a flag already reviewed)."""


class OutOfScope(ApiProblem):
    """An API key used for a gate or camera it does not cover."""


class BadQuery(ApiProblem):
    """Query parameters that are valid one by one but not together (e.g. since after until)."""


class _BatchEventProblem(ApiProblem):
    """One event of a batch is the problem (its index and id are named); the whole batch is refused."""

    def __init__(self, index: int | None, event_id: str | None, error: str) -> None:
        super().__init__(error)
        self.index = index
        self.event_id = event_id
        self.error = error

    def detail(self) -> dict[str, object]:
        """The answer's ``detail`` object of the ingest contract: ``index``, ``event_id``, ``error``."""
        return {"index": self.index, "event_id": self.event_id, "error": self.error}


class InvalidEvent(_BatchEventProblem):
    """One event of a batch failed validation (422)."""


class EventConflict(_BatchEventProblem, Conflict):
    """An event clashes with what is stored (409): its ``event_id`` with other content, or its ``flag_id`` with
    another gate, camera or flag kind. The answer says no more than that."""
