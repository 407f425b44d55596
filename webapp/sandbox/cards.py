"""Reading card JSON (2.0 and 1.0) the way the Lark client does: what to draw, what to click.

Independent of webapp/cards/render.py (which writes cards): this side only reads them. One
walker turns a card into a list of view nodes for the templates and, in the same order,
the list of interactive components a click refers to by index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

COLOURS = {
    "blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine",
    "violet", "purple", "indigo", "grey", "default",
}  # fmt: skip


@dataclass
class Interactive:
    """A clickable component: what its callback carries in `action`."""

    index: int
    tag: str
    label: str
    value: Any = None
    name: str = ""
    url: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    revision: int = 0  # which content of the message drew it (Message.revisions())


@dataclass
class CardView:
    version: str
    title: str
    subtitle: str
    colour: str
    tags: list[tuple[str, str]]
    nodes: list[dict[str, Any]]
    interactives: list[Interactive]
    template_id: str = ""


def version(card: dict[str, Any]) -> str:
    return "2.0" if str(card.get("schema", "")) == "2.0" else "1.0"


def is_shared(card: dict[str, Any]) -> bool:
    """config.update_multi: 2.0 cards are shared unless they say not, 1.0 only if they say so."""
    multi = (card.get("config") or {}).get("update_multi")
    return multi is not False if version(card) == "2.0" else multi is True


def elements_of(card: dict[str, Any], locale: str = "zh_cn") -> list[Any]:
    if version(card) == "2.0":
        return list((card.get("body") or {}).get("elements") or [])
    i18n = card.get("i18n_elements")
    if isinstance(i18n, dict) and i18n:
        return list(i18n.get(locale) or i18n.get("en_us") or next(iter(i18n.values())))
    return list(card.get("elements") or [])


def count_elements(card: dict[str, Any]) -> int:
    """Components and text elements towards Lark's 200: "一张卡片最多支持 200 个元素（如 tag
    为 plain_text 的文本元素）或组件" (card JSON 2.0 structure page). Every object with a
    `tag` under the body counts: a div with its plain_text is two."""

    def count(items: Any) -> int:
        if isinstance(items, dict):
            return (1 if "tag" in items else 0) + sum(count(v) for v in items.values())
        if isinstance(items, list):
            return sum(count(i) for i in items)
        return 0

    return count(elements_of(card))


def text_of(obj: Any, locale: str) -> str:
    """plain_text / lark_md objects, with `i18n` (1.0) or `i18n_content` (2.0)."""
    if isinstance(obj, str):
        return obj
    if not isinstance(obj, dict):
        return ""
    for key in ("i18n_content", "i18n"):
        table = obj.get(key)
        if isinstance(table, dict) and table.get(locale):
            return str(table[locale])
    return str(obj.get("content") or obj.get("text") or "")


def markdown(text: str) -> Markup:
    """The part of Lark markdown a reader needs: bold, italics, strike, links, colour, lines."""
    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"~~(.+?)~~", r"<s>\1</s>", html)
    html = re.sub(r"(?<![*\w])\*(?!\s)(.+?)\*", r"<em>\1</em>", html)
    html = re.sub(
        r"\[([^\]]+)\]\((https?://[^)\s]+)\)",
        r'<a href="\2" target="_blank" rel="noopener">\1</a>',
        html,
    )
    html = re.sub(
        r"&lt;font color=(?:&#39;|&#34;|&quot;)?(\w+)(?:&#39;|&#34;|&quot;)?&gt;(.*?)&lt;/font&gt;",
        r'<span class="lk-font-\1">\2</span>',
        html,
    )
    html = re.sub(r"&lt;at [^&]*&gt;(.*?)&lt;/at&gt;", r"@\1", html)
    return Markup(html.replace("\n", "<br>"))  # noqa: S704 - built from escaped text


def view(card: dict[str, Any], locale: str = "zh_cn") -> CardView:
    if card.get("type") == "template":
        data = card.get("data") or {}
        return CardView("template", "", "", "grey", [], [], [], str(data.get("template_id", "")))
    header = card.get("header") or {}
    walker = _Walker(locale)
    nodes = walker.walk(elements_of(card, locale))
    colour = str(header.get("template") or "default")
    tags = [
        (text_of(t.get("text"), locale), str(t.get("color") or "neutral"))
        for t in header.get("text_tag_list") or []
        if isinstance(t, dict)
    ]
    return CardView(
        version(card),
        text_of(header.get("title"), locale),
        text_of(header.get("subtitle"), locale),
        colour if colour in COLOURS else "default",
        tags,
        nodes,
        walker.interactives,
    )


class _Walker:
    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.interactives: list[Interactive] = []

    def walk(self, elements: list[Any]) -> list[dict[str, Any]]:
        return [self.node(e) for e in elements if isinstance(e, dict)]

    def node(self, element: dict[str, Any]) -> dict[str, Any]:
        tag = str(element.get("tag", ""))
        handler = getattr(self, "_" + tag, None)
        if handler is None:
            return {"kind": "unsupported", "tag": tag}
        result: dict[str, Any] = handler(element)
        return result

    def _markdown(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "text", "html": markdown(text_of(e, self.locale))}

    _lark_md = _markdown

    def _plain_text(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "text", "html": escape(text_of(e, self.locale))}

    def _div(self, e: dict[str, Any]) -> dict[str, Any]:
        fields = [
            {
                "short": bool(f.get("is_short")),
                "html": markdown(text_of(f.get("text"), self.locale)),
            }
            for f in e.get("fields") or []
            if isinstance(f, dict)
        ]
        text = markdown(text_of(e.get("text"), self.locale)) if e.get("text") else None
        extra = self.node(e["extra"]) if isinstance(e.get("extra"), dict) else None
        return {"kind": "div", "html": text, "fields": fields, "extra": extra}

    def _hr(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "hr"}

    def _note(self, e: dict[str, Any]) -> dict[str, Any]:
        parts = [text_of(x, self.locale) for x in e.get("elements") or [] if isinstance(x, dict)]
        return {"kind": "note", "html": markdown(" ".join(p for p in parts if p))}

    def _img(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "img", "alt": text_of(e.get("alt"), self.locale) or "image"}

    def _column_set(self, e: dict[str, Any]) -> dict[str, Any]:
        columns = [
            {
                "children": self.walk(c.get("elements") or []),
                "auto": c.get("width") == "auto",
                "weight": _int(c.get("weight"), 1),
            }
            for c in e.get("columns") or []
            if isinstance(c, dict)
        ]
        return {"kind": "columns", "columns": columns, "flow": e.get("flex_mode") in ("flow", None)}

    def _collapsible_panel(self, e: dict[str, Any]) -> dict[str, Any]:
        title = text_of((e.get("header") or {}).get("title"), self.locale)
        return {"kind": "panel", "title": title, "children": self.walk(e.get("elements") or [])}

    def _form(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "group", "children": self.walk(e.get("elements") or [])}

    _interactive_container = _form

    def _action(self, e: dict[str, Any]) -> dict[str, Any]:
        return {"kind": "actions", "children": self.walk(e.get("actions") or [])}

    def _button(self, e: dict[str, Any]) -> dict[str, Any]:
        value, url = _behaviour(e)
        item = self._register(e, "button", text_of(e.get("text"), self.locale), value, url)
        return {"kind": "button", "item": item, "style": str(e.get("type") or "default")}

    def _overflow(self, e: dict[str, Any]) -> dict[str, Any]:
        return self._choice(e, "overflow")

    def _select_static(self, e: dict[str, Any]) -> dict[str, Any]:
        return self._choice(e, "select_static")

    def _choice(self, e: dict[str, Any], tag: str) -> dict[str, Any]:
        value, _url = _behaviour(e)
        options = [
            (text_of(o.get("text"), self.locale), str(o.get("value", "")))
            for o in e.get("options") or []
            if isinstance(o, dict)
        ]
        label = text_of(e.get("placeholder"), self.locale) or "…"
        item = self._register(e, tag, label, value, "")
        item.options = options
        return {"kind": "choice", "item": item}

    def _register(
        self, e: dict[str, Any], tag: str, label: str, value: Any, url: str
    ) -> Interactive:
        item = Interactive(len(self.interactives), tag, label, value, str(e.get("name") or ""), url)
        self.interactives.append(item)
        return item


def _int(raw: Any, default: int) -> int:
    try:
        return max(1, int(raw))
    except (TypeError, ValueError):
        return default


def _behaviour(element: dict[str, Any]) -> tuple[Any, str]:
    """(callback value, link) of a 2.0 `behaviors` list or a 1.0 `value` / `url`."""
    value: Any = element.get("value")
    url = str(element.get("url") or (element.get("multi_url") or {}).get("url") or "")
    for behaviour in element.get("behaviors") or []:
        if not isinstance(behaviour, dict):
            continue
        if behaviour.get("type") == "callback":
            value = behaviour.get("value")
        elif behaviour.get("type") == "open_url":
            url = str(behaviour.get("default_url") or behaviour.get("pc_url") or "")
    return value, url
