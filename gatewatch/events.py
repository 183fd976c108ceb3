"""Typed events that leave the edge box (kept importable; the contract lives in ``gatewatch.contract``).

``from gatewatch.events import CrossingEvent`` keeps working for every existing caller; new code
imports from ``gatewatch.contract``. ``gate_event_adapter`` is the contract's ``event_adapter``.
"""

from __future__ import annotations

from gatewatch.contract import *  # noqa: F403  (re-export of the whole contract)
from gatewatch.contract import __all__ as _contract_all
from gatewatch.contract import event_adapter
from gatewatch.contract.events import ClassName, Details, EdgePath, EventTime, Name, TrackId

gate_event_adapter = event_adapter

__all__ = [*_contract_all, "ClassName", "Details", "EdgePath", "EventTime", "Name", "TrackId", "gate_event_adapter"]
