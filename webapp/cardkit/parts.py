"""The card JSON 2.0 components every product card is built from: buttons and a wrapping row.

The incident card (render.py), the schedules' cover and reminder cards and the weekly digest
share these, so a change Lark asks for (a new property, a renamed behaviour) lands once."""

from __future__ import annotations

from typing import Any


def button(label: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    """A button whose press comes back to the card request URL with `value`."""
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": label},
        "type": kind,
        "size": "medium",
        "behaviors": [{"type": "callback", "value": value}],
    }


def link_button(label: str, url: str, kind: str = "default") -> dict[str, Any]:
    """A button that opens `url` (in Lark's in-app browser)."""
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": label},
        "type": kind,
        "size": "medium",
        "behaviors": [{"type": "open_url", "default_url": url}],
    }


def row(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Components side by side, wrapping on narrow (phone) screens."""
    return {
        "tag": "column_set",
        "flex_mode": "flow",
        "horizontal_spacing": "small",
        "columns": [
            {"tag": "column", "width": "auto", "vertical_align": "center", "elements": [item]}
            for item in items
        ],
    }
