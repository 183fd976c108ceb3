"""The hold list on the wire: plates an edge box must stop, as ``GET /api/v1/holds`` sends them.

The API answers with ``HoldsForEdge``; the edge parses the same model (from the API or from its local
YAML / JSON / CSV file with the same fields). ``plate`` is a plate key (``plate_key``) when the API
sends it; a local file may hold separators, which matching strips.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field


class HoldEntry(BaseModel):
    """One plate on the hold list: why it is held and until when (none: until removed)."""

    model_config = ConfigDict(extra="ignore", frozen=True, from_attributes=True)

    plate: str = Field(min_length=1, description="Plate key, e.g. '51F12345'.")
    reason: str = ""
    until: datetime | None = Field(None, description="End of the hold; none: until an operator removes it.")

    def active(self, at: datetime | None) -> bool:
        """Whether the hold is in force at ``at`` (always, when either is unknown; a naive ``until`` is UTC)."""
        if self.until is None or at is None:
            return True
        until = self.until if self.until.tzinfo else self.until.replace(tzinfo=timezone.utc)
        return at <= until


class HoldsForEdge(BaseModel):
    """The active hold-list entries for the asking edge box's gate (and the all-gates entries)."""

    model_config = ConfigDict(from_attributes=True)

    holds: list[HoldEntry]
