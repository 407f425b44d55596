"""A buzz step in words, for "Who was told" and the timeline (the reader's language)."""

from __future__ import annotations

from typing import Any, Protocol

from flask_babel import gettext as _

from webapp.paging.rules import VIA_WORDS


class StepLike(Protocol):
    target: str
    via: str
    step: int
    rule: str


def rule_words(rule: str) -> str:
    return {
        "own": _("their own rules"),
        "account": _("the account's default rules"),
        "built_in": _("the starting rules"),
    }.get(rule, rule)


def via_words(via: str) -> str:
    return str(VIA_WORDS.get(via, via))


def step_words(told: StepLike) -> str:
    """ "Li Lei, phone buzz (step 3 of their own rules)"."""
    return line({"target": told.target, "via": told.via, "step": told.step, "rule": told.rule})


def line(details: dict[str, Any]) -> str:
    """A timeline line's details: who, how, which step, and what it stood in for."""
    words = _(
        "%(target)s, %(via)s (step %(step)s of %(rule)s)",
        target=details.get("target", ""),
        via=via_words(str(details.get("via") or "")),
        step=details.get("step", ""),
        rule=rule_words(str(details.get("rule") or "")),
    )
    if chat := details.get("chat"):
        words += " " + _("in %(chat)s", chat=chat)
    if instead := details.get("instead_of"):
        words += " " + _("instead of %(via)s", via=via_words(str(instead)))
    return words
