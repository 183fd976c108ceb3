"""What goes wrong in the edge box's outbox: an event it cannot store, a file that is no outbox."""

from __future__ import annotations

from gatewatch.errors import GatewatchError


class OutboxError(GatewatchError):
    """The outbox cannot store an event durably, or its file is not an outbox."""
