"""``gatewatch outbox status|aside|resend``: look into an edge box's outbox file.

``status`` reads the file (read-only, safe while the edge process runs) and prints the
backlog, its age, pending images, disk use and totals; ``--json`` for machines. ``aside``
lists the events set aside (refused with 422/409, or failing alone with 500) with their
reasons. ``resend`` (alias ``requeue``) puts them, or the ones named, back in the queue once
the cause is fixed (stop the edge first; its next start sends them). ``import`` queues the events
of a JSON-lines events file that the outbox does not hold (after an outbox was lost).
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
    aside = commands.add_parser("aside", help="list the events set aside, with reasons")
    aside.add_argument("--path", required=True, help="outbox SQLite file (delivery.outbox_path)")
    aside.add_argument("--json", action="store_true", help="print one JSON list")
    aside.set_defaults(handler=_aside)
    resend = commands.add_parser(
        "resend", aliases=["requeue"], help="queue set-aside events again (stop the edge process first)"
    )
    resend.add_argument("--path", required=True, help="outbox SQLite file (delivery.outbox_path)")
    resend.add_argument(
        "--event-id", action="append", dest="event_ids", metavar="ID", help="only this event (repeatable)"
    )
    resend.set_defaults(handler=_requeue)
    imp = commands.add_parser(
        "import", help="queue events from a JSON-lines events file that the outbox lacks (after a lost outbox)"
    )
    imp.add_argument("--path", required=True, help="outbox SQLite file (delivery.outbox_path)")
    imp.add_argument("--jsonl", required=True, help="events file written by 'gatewatch run --events'")
    imp.set_defaults(handler=_import)


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


def _aside(args: argparse.Namespace) -> int:
    from gatewatch.sinks.outbox import Outbox

    outbox = Outbox(args.path, read_only=True)
    try:
        rows = outbox.rejected()
    finally:
        outbox.close()
    if args.json:
        print(json.dumps([{"event_id": e, "reason": r, "status": s} for e, r, s in rows], indent=2))
        return 0
    for event_id, reason, status in rows:
        print(f"{event_id}  HTTP {status}  {reason}")
    print(f"{len(rows)} events set aside")
    return 0


def _import(args: argparse.Namespace) -> int:
    from gatewatch.sinks.outbox import Outbox

    outbox = Outbox(args.path)
    try:
        with open(args.jsonl, encoding="utf-8") as fh:
            queued, bad = outbox.import_events(fh)
    finally:
        outbox.close()
    print(f"{queued} events queued from {args.jsonl}" + (f"; {bad} unreadable lines skipped" if bad else ""))
    return 0 if not bad else 1


def _requeue(args: argparse.Namespace) -> int:
    from gatewatch.sinks.outbox import Outbox

    outbox = Outbox(args.path)
    try:
        count = outbox.requeue_rejected(args.event_ids)
    finally:
        outbox.close()
    print(f"{count} set-aside events queued again")
    return 0 if args.event_ids is None or count == len(set(args.event_ids)) else 1
