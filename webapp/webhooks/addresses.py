"""Which receiver URLs a webhook may be sent to.

Self-hosted, an endpoint on the operator's private network is their choice, so private
addresses are allowed. Link-local addresses (169.254.0.0/16, fe80::/10: the cloud metadata
service lives there) never are, and loopback (this machine's own services) only with
WEBHOOKS_ALLOW_LOOPBACK. Checked when the endpoint is saved and again before every send,
since a name can resolve elsewhere later.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedUrl(ValueError):
    """The URL cannot receive webhooks; the message says why, for the admin."""


def check_url(url: str) -> None:
    """Refuse what is not an http(s) URL with a host, or names a refused address."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise RefusedUrl(
            _(
                "Use an http:// or https:// URL: a webhook is an HTTP POST, which other "
                "schemes cannot take."
            )
        )
    if not parts.hostname:
        raise RefusedUrl(_("The URL needs a host name, as in https://example.com/hooks."))
    try:
        parts.port  # noqa: B018 - a malformed port raises here
    except ValueError:
        raise RefusedUrl(_("The URL's port is not a number from 1 to 65535.")) from None
    literal = _literal(parts.hostname)
    if literal is not None:
        check_address(literal)


def check_host(host: str, port: int) -> None:
    """Resolve the host and refuse it when any of its addresses is refused."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise RefusedUrl(f"{host} cannot be resolved: {exc}") from None
    for info in infos:
        check_address(ipaddress.ip_address(info[4][0]))


def check_address(address: Address) -> None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address.is_multicast or address.is_unspecified:
        raise RefusedUrl(
            _(
                "%(address)s is a link-local, multicast or unspecified address (the cloud "
                "metadata service lives at 169.254.169.254): webhooks are never sent there.",
                address=address,
            )
        )
    if address.is_loopback and not current_app.config.get("WEBHOOKS_ALLOW_LOOPBACK"):
        raise RefusedUrl(
            _(
                "%(address)s is this machine itself: set WEBHOOKS_ALLOW_LOOPBACK=1 to allow it.",
                address=address,
            )
        )


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None
