"""The worker's `webhook` kind: one signed POST to an account's endpoint, its answer logged.

A 2xx is delivered. 410 Gone switches the endpoint off. Anything else (another status, a
redirect, which is never followed, a timeout, a refused connection) is retried by the
outbox's backoff as the same row, so the same `webhook-id` and body, with a fresh timestamp
and signature. An endpoint that has failed for a day is switched off and the account's
admins are e-mailed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import requests
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from webapp import mailer
from webapp.delivery.outcomes import backoff, end, fail
from webapp.extensions import db
from webapp.models import Delivery, DeliveryStatus, Member, Role, WebhookEndpoint
from webapp.webhooks import endpoints, signing
from webapp.webhooks.addresses import RefusedUrl, check_host

log = logging.getLogger(__name__)

TIMEOUT = 5.0  # seconds to connect and to wait for the answer; far under the worker's lease
EXCERPT = 500  # bytes of the answer kept in the delivery log
DISABLE_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Answer:
    """What one attempt got: an HTTP status, or an error before any status."""

    status: int | None
    ms: int
    excerpt: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def deliver(row: Delivery, now: datetime) -> None:
    endpoint = db.session.get(WebhookEndpoint, row.endpoint_id) if row.endpoint_id else None
    if endpoint is None or not endpoint.enabled:
        end(row, DeliveryStatus.CANCELLED, "endpoint_disabled", now)
        return
    body = str((row.payload or {}).get("body", "")).encode()
    answer = post(endpoint.url, body, signing.headers(endpoint.secret, row.uuid, now, body))
    row.attempts += 1
    row.last_error_code = answer.status
    row.payload = {**(row.payload or {}), "response": _logged(answer, now)}
    if answer.ok:
        endpoint.failing_since = None
        end(row, DeliveryStatus.DELIVERED, None, now)
    elif answer.status == 410:
        fail(row, "gone", 410, "the receiver answered 410 Gone", now)
        endpoints.disable(endpoint, endpoints.GONE)
    else:
        _failed(row, endpoint, answer, now)


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """One POST, never following a redirect, to an address the rules allow."""
    parts = urlsplit(url)
    started = time.perf_counter()
    try:
        check_host(parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        with requests.Session() as session:
            session.trust_env = False  # a proxy from the environment would bypass the checks
            response = session.post(
                url, data=body, headers=headers, timeout=TIMEOUT, allow_redirects=False, stream=True
            )
            with response:
                excerpt = response.raw.read(EXCERPT, decode_content=True) or b""
    except RefusedUrl as exc:
        return Answer(None, _ms(started), "", str(exc))
    except requests.Timeout:
        return Answer(None, _ms(started), "", f"no answer within {TIMEOUT:g} s")
    except (requests.RequestException, OSError) as exc:
        return Answer(None, _ms(started), "", f"{type(exc).__name__}: {exc}"[:300])
    text = excerpt.decode("utf-8", errors="replace")
    if 300 <= response.status_code < 400:
        where = response.headers.get("Location", "")
        return Answer(response.status_code, _ms(started), text, f"redirect to {where} not followed")
    return Answer(response.status_code, _ms(started), text)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _logged(answer: Answer, now: datetime) -> dict[str, object]:
    return {
        "status": answer.status,
        "ms": answer.ms,
        "body": answer.excerpt,
        "error": answer.error,
        "at": now.isoformat(),
    }


def _failed(row: Delivery, endpoint: WebhookEndpoint, answer: Answer, now: datetime) -> None:
    """Retry the same row later; after a day of failures, switch the endpoint off."""
    row.reason = "network" if answer.status is None else "webhook_status"
    row.last_error = (answer.error or f"HTTP {answer.status}")[:500]
    endpoint.failing_since = endpoint.failing_since or now
    if now - endpoint.failing_since < DISABLE_AFTER:
        row.next_attempt_at = now + timedelta(seconds=backoff(row.attempts, None))
        return
    last = row.last_error
    fail(row, row.reason, answer.status, f"failing for 24 hours: {last}", now)
    endpoints.disable(endpoint, (endpoints.FAILING + last)[:200])
    tell_admins(endpoint)


def tell_admins(endpoint: WebhookEndpoint) -> None:
    """E-mail each admin of the account that the endpoint was switched off (when mail is set)."""
    if mailer.settings() is None:
        return
    admins = db.session.scalars(
        select(Member).where(
            Member.account_id == endpoint.account_id, Member.role.in_((Role.OWNER, Role.ADMIN))
        )
    )
    for admin in admins:
        try:
            mailer.send(_disabled_mail(endpoint, admin))
        except mailer.MailError:
            log.exception("could not e-mail %s about webhook endpoint %s", admin.id, endpoint.id)


def _disabled_mail(endpoint: WebhookEndpoint, admin: Member) -> EmailMessage:
    base = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/")
    with force_locale(admin.locale or "en"):
        subject = _("Webhook endpoint switched off: %(url)s", url=endpoint.url)
        lines = [
            _("Hello %(name)s,", name=admin.name),
            "",
            _("The webhook endpoint %(url)s was switched off.", url=endpoint.url),
            endpoints.disabled_words(endpoint) or "",
            _(
                "Fix the receiver, then turn the endpoint back on and send the failed "
                "deliveries again: %(link)s",
                link=f"{base}/admin/webhooks/{endpoint.id}",
            ),
        ]
    message = EmailMessage()
    message["To"] = admin.email
    message["Subject"] = subject
    message.set_content("\n".join(lines))
    return message
