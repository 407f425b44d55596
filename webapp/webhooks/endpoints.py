"""An account's webhook endpoints: saving, pausing, deleting; the only code that changes them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    WebhookEndpoint,
    WebhookEvent,
)
from webapp.webhooks import signing
from webapp.webhooks.addresses import RefusedUrl, check_url

# Why the worker switched an endpoint off (`disabled_reason`); words drawn when read.
GONE = "gone"
FAILING = "failing:"  # followed by the last answer

# What an admin can filter on: every event type but the test event.
FILTERABLE = tuple(e for e in WebhookEvent if e is not WebhookEvent.TEST)


class InvalidEndpoint(ValueError):
    """A field of the form is wrong; `field` names it, the message says how to fix it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Settings:
    url: str
    description: str
    event_types: list[str]
    channel_ids: list[int]


def checked(
    account_id: int,
    url: str,
    description: str,
    event_types: Iterable[str],
    channel_ids: Iterable[int],
) -> Settings:
    """The settings as stored, or InvalidEndpoint naming the first wrong field."""
    url = url.strip()
    if len(url) > 2000:
        raise InvalidEndpoint("url", _("The URL can be at most 2,000 characters."))
    try:
        check_url(url)
    except RefusedUrl as exc:
        raise InvalidEndpoint("url", str(exc)) from None
    if len(description.strip()) > 200:
        raise InvalidEndpoint("description", _("The description can be at most 200 characters."))
    types = sorted(set(event_types))
    unknown = [t for t in types if t not in FILTERABLE]
    if unknown:
        raise InvalidEndpoint("event_types", _("Unknown event type: %(t)s.", t=unknown[0]))
    ids = sorted(set(channel_ids))
    owned = set(
        db.session.scalars(
            select(Channel.id).where(Channel.account_id == account_id, Channel.id.in_(ids))
        )
    )
    if set(ids) - owned:
        raise InvalidEndpoint("channel_ids", _("Choose channels of this account."))
    return Settings(url, description.strip(), types, ids)


def create(account_id: int, settings: Settings) -> WebhookEndpoint:
    """A new, enabled endpoint with a fresh `whsec_` secret."""
    endpoint = WebhookEndpoint(
        account_id=account_id,
        url=settings.url,
        description=settings.description,
        event_types=settings.event_types,
        channel_ids=settings.channel_ids,
        enabled=True,
    )
    endpoint.secret = signing.new_secret()
    db.session.add(endpoint)
    db.session.commit()
    return endpoint


def edit(endpoint: WebhookEndpoint, settings: Settings) -> None:
    endpoint.url = settings.url
    endpoint.description = settings.description
    endpoint.event_types = settings.event_types
    endpoint.channel_ids = settings.channel_ids
    db.session.commit()


def pause(endpoint: WebhookEndpoint) -> None:
    """Stop sending: nothing new is queued, and what waits is cancelled (send it again later)."""
    disable(endpoint, None)
    db.session.commit()


def resume(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = None
    endpoint.failing_since = None
    db.session.commit()


def disable(endpoint: WebhookEndpoint, reason: str | None) -> None:
    """Switch the endpoint off and cancel its waiting rows; the caller commits."""
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    db.session.execute(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint.id, Delivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, reason="endpoint_disabled")
        .execution_options(synchronize_session=False)
    )


def delete(endpoint: WebhookEndpoint) -> None:
    """The endpoint and its delivery log go; incidents are not touched."""
    db.session.execute(Delivery.__table__.delete().where(Delivery.endpoint_id == endpoint.id))
    db.session.delete(endpoint)
    db.session.commit()


def of_account(account_id: int) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.account_id == account_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def disabled_words(endpoint: WebhookEndpoint) -> str | None:
    """Why the worker switched the endpoint off, in the reader's language; None if it did not."""
    reason = endpoint.disabled_reason
    if not reason:
        return None
    if reason == GONE:
        return _("The receiver answered 410 Gone: it asked for no more events.")
    last = reason.removeprefix(FAILING)
    return _("Every delivery failed for 24 hours; the last answer: %(last)s", last=last)
