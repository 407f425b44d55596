"""What every outbox row (`Delivery`) says about itself, for the capabilities that write rows
and the worker that sends them: the purpose of an incident notification, and its target.

A low floor: capabilities write outbox rows in the transaction of their change and may not
import the worker (webapp/delivery/), so what both sides need lives here.
"""

from __future__ import annotations

from webapp.models import Delivery

# send_card rows with this purpose are incident notifications (not a war room's card): they
# are the ones still sent when the free edition's quota is used up.
NOTIFY_PURPOSE = "notify"


def notifies(row: Delivery) -> bool:
    """The row is an incident notification."""
    return (row.payload or {}).get("purpose") == NOTIFY_PURPOSE


def target(row: Delivery) -> str:
    """Who or what the row reaches, in words (a person's or chat's name, else its id)."""
    return str((row.payload or {}).get("target") or row.receive_id or "")
