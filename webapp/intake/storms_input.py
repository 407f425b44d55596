"""Storm thresholds as an admin types them: "10, 100, 1000"."""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.incidents.storms import MAX_THRESHOLDS

LOWEST, HIGHEST = 2, 1_000_000


def thresholds(text: str, errors: dict[str, str]) -> list[int]:
    """Up to MAX_THRESHOLDS whole numbers, each once, lowest first."""
    parts = [p.strip().replace("_", "") for p in text.replace("\n", ",").split(",") if p.strip()]
    try:
        values = sorted({int(p) for p in parts})
    except ValueError:
        values = [0]
    if len(values) > MAX_THRESHOLDS or any(not LOWEST <= v <= HIGHEST for v in values):
        errors["storm_thresholds"] = _(
            "Up to %(n)s whole numbers from %(low)s to %(high)s, separated by commas.",
            n=MAX_THRESHOLDS,
            low=LOWEST,
            high=f"{HIGHEST:,}",
        )
        return []
    return values
