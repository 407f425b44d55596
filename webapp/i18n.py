"""Formatting in the request's language and zone: ages ("2 minutes ago"), moments and offsets.

Pure formatting over Babel: which language and zone a request speaks is chosen elsewhere
(webapp/views/language.py, Babel's selectors), so every floor may import this module.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo

from flask import Flask
from flask_babel import format_timedelta, get_locale, get_timezone

from webapp.models import utcnow

LOCALES = ("en", "zh")


def current_locale() -> str:
    locale = get_locale()
    return locale.language if locale else "en"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/translations"))
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["current_zone"] = current_zone


def ago(when: datetime | None, now: datetime | None = None) -> str:
    """ "2 minutes ago" in the request's language, the one way the product says how long ago.

    Negative is the past ("2 minutes ago", "2分钟前"); zero would read as the future ("in 0
    seconds", "0秒钟后"), so a just-now moment is nudged a microsecond back. Babel's words
    depend only on the language, the unit and the rounded count (`_reading`), so they are
    looked up once per those three: a list writes 50 ages per render."""
    if when is None:
        return ""
    delta = min(when - (now or utcnow()), timedelta(microseconds=-1))
    key = (str(get_locale()), *_reading(math.ceil(-delta.total_seconds())))
    words = _AGO_WORDS.get(key)
    if words is None:
        words = format_timedelta(delta, add_direction=True)
        if len(_AGO_WORDS) < _AGO_WORDS_MAX:
            _AGO_WORDS[key] = words
    return words


# How babel's format_timedelta (the words of `ago`) picks its unit: the largest one the
# span reaches 0.85 of, with the count rounded (babel.dates.TIMEDELTA_UNITS, threshold).
_UNITS = (31536000, 2592000, 604800, 86400, 3600, 60, 1)
_THRESHOLD = 0.85
# (language, unit, count) -> words: at most a few hundred per language.
_AGO_WORDS: dict[tuple[str, int, int], str] = {}
_AGO_WORDS_MAX = 10_000


def _reading(seconds: int) -> tuple[int, int]:
    """(unit index, rounded count) babel writes for an age of `seconds` whole seconds (babel
    drops the microseconds of a negative span, which rounds its age up)."""
    seconds = max(1, seconds)
    for index, unit in enumerate(_UNITS):
        if seconds / unit >= _THRESHOLD or unit == 1:
            return index, round(seconds / unit)
    raise AssertionError("the last unit always matches")  # pragma: no cover


def ago_reads_until(when: datetime, now: datetime) -> datetime:
    """A moment up to which `ago(when)` reads as it does at `now` (it may read the same a
    little longer, never less): "5 minutes ago" holds until it rounds to 6, or until 51
    minutes become "1 hour ago". Babel counts whole seconds, rounded up."""
    seconds = max(1, math.ceil((now - when).total_seconds()))
    index, count = _reading(seconds)
    unit = _UNITS[index]
    rounds_up = (count + 0.5) * unit
    larger = _UNITS[index - 1] * _THRESHOLD if index else math.inf
    # At N whole seconds the words may change; N seconds are reached after N - 1.
    return when + timedelta(seconds=math.floor(min(rounds_up, larger)) - 1)


def current_zone() -> str:
    """ "UTC+8": the offset the page's times are written in."""
    return offset_label(utcnow(), get_timezone())


def offset_label(moment: datetime, zone: tzinfo) -> str:
    """ "UTC+8", "UTC-4", "UTC+5:30", "UTC": the zone's offset at that moment."""
    offset = moment.astimezone(zone).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def stamp(moment: datetime, zone: tzinfo) -> str:
    """ "2026-06-15 10:00 UTC+8": a moment as a card or a page writes it."""
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {offset_label(moment, zone)}"
