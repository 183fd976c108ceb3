"""``gatewatch outbox status|requeue``: look into an edge box's outbox file.

``status`` reads the file (read-only, safe while the edge process runs) and prints the
backlog, its age, pending images, disk use and totals; ``--json`` for machines. ``requeue``
puts events the API rejected back in the queue, once the cause is fixed (stop the edge first).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``outbox`` command group to the ``gatewatch`` parser."""
    parser = subparsers.add_parser("outbox", help="inspect the delivery outbox of an edge box")
    commands = parser.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    status = commands.add_parser("status", help="backlog size and age, images, disk use, totals")
    status.add_argument("--path", required=True, help="outbox SQLite file (delivery.outbox_path)")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument(
        "--rejected", action="store_true", help="also list rejected events with their reasons"
    )
    status.set_defaults(handler=_status)
    requeue = commands.add_parser("requeue", help="send rejected events again (stop the edge process first)")
    requeue.add_argument("--path", required=True, help="outbox SQLite file (delivery.outbox_path)")
    requeue.set_defaults(handler=_requeue)


def _status(args: argparse.Namespace) -> int:
    from gatewatch.sinks.outbox import Outbox

    outbox = Outbox(args.path, read_only=True)
    try:
        stats = outbox.stats()
        rejected = outbox.rejected() if args.rejected else []
    finally:
        outbox.close()
    if args.json:
        data = stats.as_dict()
        if args.rejected:
            data["rejected"] = [{"event_id": e, "reason": r, "status": s} for e, r, s in rejected]
        print(json.dumps(data, indent=2))
        return 0
    age = stats.oldest_pending_age_s
    rows = [
        ("outbox", stats.path),
        ("pending events", f"{stats.pending_events}" + ("" if age is None else f" (oldest {age:.0f} s)")),
        ("pending images", f"{stats.pending_evidence} ({stats.pending_evidence_bytes / 1e6:.2f} MB)"),
        ("disk use", f"{stats.disk_bytes / 1e6:.2f} of {stats.max_disk_bytes / 1e6:.0f} MB (bound as last run)"),
        ("delivered", f"{stats.delivered_total} (API counted {stats.duplicates_total} duplicates)"),
        ("kept delivered", str(stats.kept_delivered_events)),
        ("rejected", f"{stats.rejected_events} now, {stats.rejected_total} ever"),
        ("images", f"sent {stats.evidence_sent_total}, pruned {stats.evidence_pruned_total}, "
                   f"refused {stats.evidence_rejected_total}"),
        ("max backlog", str(stats.max_backlog)),
        ("last delivery", stats.last_delivery_at or "never"),
        ("last error", stats.last_error or "-"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for event_id, reason, status in rejected:
        print(f"  rejected {event_id} (HTTP {status}): {reason}")
    return 0


def _requeue(args: argparse.Namespace) -> int:
    from gatewatch.sinks.outbox import Outbox

    outbox = Outbox(args.path)
    try:
        count = outbox.requeue_rejected()
    finally:
        outbox.close()
    print(f"{count} rejected events queued again")
    return 0
