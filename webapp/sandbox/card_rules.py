"""Card JSON checks, stricter than Lark: what the sandbox refuses before it stores a card.

Written from Lark's card documentation (open.feishu.cn / open.larksuite.com, document path
uAjLw4CM/ukzMukzMukzM/feishu-cards/…), independent of the product's card code:
- card-json-v2-structure: top level `schema`, `config`, `card_link`, `header`, `body`.
- card-json-v2-breaking-changes-release-notes: "在 JSON 2.0 版本中，传入不支持的属性将报错"
  (an unsupported property is an error, where 1.0 ignored it); `i18n_elements` and
  `fallback` are gone from the top level; `update_multi` may only be true; the 1.0 `action`
  and `note` tags are removed (buttons stand alone or in a column_set); cards are
  interactive and updatable for 14 days.
- card-json-v2-components/content-components/title: header fields, `template` colours,
  `text_tag_list[].color` (neutral … carmine: no "grey", neutral is the grey one).
- card-json-v2-components/* (plain text `div` — "普通文本组件的标签为 div", so a bare
  `plain_text` is a text object inside a component, never a component — rich-text `markdown`,
  button, column_set,
  divider `hr`, image `img`, collapsible_panel, form): each component's properties and
  enums; the common layout properties (`element_id`, `margin`, …) every component takes.
- send-message-content / im-v1 message create: a card is at most 30 KB; 200 elements.

A 1.0 card (no `schema`) is checked for its top-level keys and the 30 KB limit only: 1.0
ignores unknown properties, so refusing them would be stricter than Lark in a way that
tests nothing the product draws (the product draws 2.0 only).
"""

from __future__ import annotations

import json
from typing import Any

from webapp.sandbox.cards import count_elements

MAX_CARD_BYTES = 30 * 1024  # "卡片 JSON 数据大小不超过 30 KB"
MAX_ELEMENTS = 200  # components and text elements in a card, nested ones included

TOP_LEVEL_V2 = {"schema", "config", "card_link", "header", "body"}
TOP_LEVEL_V1 = {"config", "card_link", "header", "elements", "i18n_elements", "i18n_header",
                "fallback"}  # fmt: skip
CONFIG_KEYS = {
    "streaming_mode", "streaming_config", "summary", "locales", "enable_forward",
    "update_multi", "width_mode", "use_custom_translation", "enable_forward_interaction",
    "style",
}  # fmt: skip
CARD_LINK_KEYS = {"url", "pc_url", "ios_url", "android_url"}
HEADER_KEYS = {"title", "subtitle", "text_tag_list", "i18n_text_tag_list", "template",
               "icon", "ud_icon", "padding"}  # fmt: skip
HEADER_TEMPLATES = {
    "blue", "wathet", "turquoise", "green", "yellow", "orange", "red", "carmine",
    "violet", "purple", "indigo", "grey", "default",
}  # fmt: skip
TEXT_TAG_COLOURS = {
    "neutral", "blue", "turquoise", "lime", "orange", "violet", "indigo", "wathet",
    "green", "yellow", "red", "purple", "carmine",
}  # fmt: skip
BODY_KEYS = {"elements", "direction", "padding", "horizontal_spacing", "horizontal_align",
             "vertical_spacing", "vertical_align"}  # fmt: skip

# Properties every 2.0 component accepts (structure page, "组件通用属性").
COMMON = {"tag", "element_id", "margin"}
LAYOUT = {"direction", "padding", "horizontal_spacing", "horizontal_align",
          "vertical_spacing", "vertical_align"}  # fmt: skip
TEXT_KEYS = {"tag", "content", "i18n_content", "text_size", "text_color", "text_align",
             "lines"}  # fmt: skip
SPACING = {"small", "medium", "large", "extra_large"}
ALIGN = {"left", "center", "right"}
V_ALIGN = {"top", "center", "bottom"}
BUTTON_TYPES = {"default", "primary", "danger", "text", "primary_text", "danger_text",
                "primary_filled", "danger_filled", "laser"}  # fmt: skip
BUTTON_SIZES = {"tiny", "small", "medium", "large"}
BEHAVIOUR_KEYS = {
    "callback": {"type", "value"},
    "open_url": {"type", "default_url", "pc_url", "ios_url", "android_url"},
    "form_action": {"type", "behavior"},
}
# Tags of JSON 1.0 that 2.0 removed (release notes: "废弃 action 交互模块", note).
REMOVED_TAGS = {"action", "note"}


# The card colour enum shared by text_color and the other colour fields: 14 base names,
# the coloured ones with shades -50 ... -900, grey with -00 ... -1000 (Lark's colour
# enumeration page; sources in docs/lark/cards.md).
BASE_COLOURS = {"blue", "carmine", "green", "indigo", "lime", "orange", "purple", "red",
                "sunflower", "turquoise", "violet", "wathet", "yellow"}  # fmt: skip
SHADES = {"50", "100", "200", "300", "350", "400", "500", "600", "700", "800", "900"}
GREY_SHADES = {"00", "50"} | {str(n) for n in range(100, 1001, 50)}
COLOURS = (
    {"default", "grey", "white", "bg-white"}
    | BASE_COLOURS
    | {f"{c}-{s}" for c in BASE_COLOURS for s in SHADES}
    | {f"grey-{s}" for s in GREY_SHADES}
)


def _is_colour(value: Any) -> bool:
    return isinstance(value, str) and value in COLOURS


class CardRefused(ValueError):
    """The card breaks a rule; `path` says where, the message says what."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def check(card: Any) -> None:
    """Raise CardRefused unless the card is one Lark accepts."""
    if not isinstance(card, dict):
        raise CardRefused("$", "a card is a JSON object")
    size = len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_CARD_BYTES:
        raise CardRefused("$", f"the card is {size} bytes; the limit is 30 KB")
    if card.get("type") == "template":
        return
    if str(card.get("schema", "")) != "2.0":
        _keys("$", card, TOP_LEVEL_V1)
        return
    if card["schema"] != "2.0":
        raise CardRefused("$.schema", 'schema is the string "2.0"')
    _keys("$", card, TOP_LEVEL_V2)
    if "config" in card:
        _config(_obj("$.config", card["config"]))
    if "card_link" in card:
        _keys("$.card_link", _obj("$.card_link", card["card_link"]), CARD_LINK_KEYS)
    if "header" in card:
        _header(_obj("$.header", card["header"]))
    body = _obj("$.body", card.get("body", {}))
    _keys("$.body", body, BODY_KEYS)
    if "direction" in body:
        _enum("$.body.direction", body["direction"], {"vertical", "horizontal"})
    counter = [0]
    _elements("$.body.elements", body.get("elements", []), counter)
    if count_elements(card) > MAX_ELEMENTS:
        raise CardRefused("$.body", f"more than {MAX_ELEMENTS} elements, text elements included")


def _config(config: dict[str, Any]) -> None:
    _keys("$.config", config, CONFIG_KEYS)
    if config.get("update_multi", True) is not True:
        raise CardRefused("$.config.update_multi", "a 2.0 card is shared: only true")
    if "width_mode" in config:
        _enum("$.config.width_mode", config["width_mode"], {"default", "compact", "fill"})
    if "summary" in config:
        _keys("$.config.summary", _obj("$.config.summary", config["summary"]),
              {"content", "i18n_content"})  # fmt: skip
    for key in ("enable_forward", "streaming_mode", "enable_forward_interaction",
                "use_custom_translation"):  # fmt: skip
        if key in config and not isinstance(config[key], bool):
            raise CardRefused(f"$.config.{key}", "a boolean")


def _header(header: dict[str, Any]) -> None:
    _keys("$.header", header, HEADER_KEYS)
    if "title" not in header:
        raise CardRefused("$.header.title", "a header needs a title")
    for key in ("title", "subtitle"):
        if key in header:
            _text(f"$.header.{key}", header[key], {"plain_text", "lark_md"})
    if "template" in header:
        _enum("$.header.template", header["template"], HEADER_TEMPLATES)
    tags = header.get("text_tag_list", [])
    if not isinstance(tags, list) or len(tags) > 3:
        raise CardRefused("$.header.text_tag_list", "a list of at most 3 tags")
    for i, tag in enumerate(tags):
        path = f"$.header.text_tag_list[{i}]"
        tag = _obj(path, tag)
        _keys(path, tag, {"tag", "element_id", "text", "color"})
        _enum(path + ".tag", tag.get("tag"), {"text_tag"})
        _text(path + ".text", tag.get("text"), {"plain_text"})
        if "color" in tag:
            _enum(path + ".color", tag["color"], TEXT_TAG_COLOURS)


def _elements(path: str, elements: Any, counter: list[int]) -> None:
    if not isinstance(elements, list):
        raise CardRefused(path, "a list of components")
    for i, element in enumerate(elements):
        _element(f"{path}[{i}]", element, counter)


def _element(path: str, e: Any, counter: list[int]) -> None:
    e = _obj(path, e)
    counter[0] += 1
    if counter[0] > MAX_ELEMENTS:
        raise CardRefused(path, f"more than {MAX_ELEMENTS} components")
    tag = e.get("tag")
    if tag in REMOVED_TAGS:
        raise CardRefused(path, f'"{tag}" is a JSON 1.0 tag that 2.0 removed')
    rule = _RULES.get(str(tag))
    if rule is None:
        raise CardRefused(path, f"unknown component tag {tag!r}")
    rule(path, e, counter)


def _markdown(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON | {"content", "i18n_content", "text_size", "text_align", "icon"})
    _str(path + ".content", e.get("content"))
    if "text_align" in e:
        _enum(path + ".text_align", e["text_align"], ALIGN)


def _div(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON | {"text", "icon", "width"})
    if "text" in e:
        _text(path + ".text", e["text"], {"plain_text", "lark_md"})


def _hr(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON)


def _img(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON | {"img_key", "alt", "title", "transparent", "preview",
                             "corner_radius", "scale_type", "size"})  # fmt: skip
    _str(path + ".img_key", e.get("img_key"))


def _button(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON | {"type", "size", "width", "text", "icon", "hover_tips",
                             "disabled", "disabled_tips", "confirm", "behaviors",
                             "name", "form_action_type"})  # fmt: skip
    if "text" in e:
        _text(path + ".text", e["text"], {"plain_text", "lark_md"})
    if "type" in e:
        _enum(path + ".type", e["type"], BUTTON_TYPES)
    if "size" in e:
        _enum(path + ".size", e["size"], BUTTON_SIZES)
    behaviours = e.get("behaviors", [])
    if not isinstance(behaviours, list):
        raise CardRefused(path + ".behaviors", "a list")
    for i, b in enumerate(behaviours):
        bpath = f"{path}.behaviors[{i}]"
        b = _obj(bpath, b)
        allowed = BEHAVIOUR_KEYS.get(str(b.get("type")))
        if allowed is None:
            raise CardRefused(bpath + ".type", "callback, open_url or form_action")
        _keys(bpath, b, allowed)
        if b["type"] == "open_url":
            _str(bpath + ".default_url", b.get("default_url"))


def _column_set(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON | {"flex_mode", "horizontal_spacing", "horizontal_align",
                             "background_style", "columns", "action"})  # fmt: skip
    if "flex_mode" in e:
        _enum(path + ".flex_mode", e["flex_mode"], {"none", "stretch", "flow", "bisect",
                                                    "trisect"})  # fmt: skip
    if "horizontal_spacing" in e and e["horizontal_spacing"] not in SPACING:
        _pixels(path + ".horizontal_spacing", e["horizontal_spacing"])
    columns = e.get("columns", [])
    if not isinstance(columns, list):
        raise CardRefused(path + ".columns", "a list of columns")
    for i, column in enumerate(columns):
        cpath = f"{path}.columns[{i}]"
        column = _obj(cpath, column)
        _enum(cpath + ".tag", column.get("tag"), {"column"})
        _keys(cpath, column, COMMON | LAYOUT | {"background_style", "width", "weight",
                                                "elements", "action"})  # fmt: skip
        if "vertical_align" in column:
            _enum(cpath + ".vertical_align", column["vertical_align"], V_ALIGN)
        if "width" in column and column["width"] not in ("auto", "weighted"):
            _pixels(cpath + ".width", column["width"])
        _elements(cpath + ".elements", column.get("elements", []), counter)


def _collapsible_panel(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON | LAYOUT | {"expanded", "background_color", "header", "border",
                                      "elements"})  # fmt: skip
    _elements(path + ".elements", e.get("elements", []), counter)


def _form(path: str, e: dict[str, Any], counter: list[int]) -> None:
    _keys(path, e, COMMON | LAYOUT | {"name", "elements"})
    _str(path + ".name", e.get("name"))
    _elements(path + ".elements", e.get("elements", []), counter)


_RULES = {
    "markdown": _markdown,
    "div": _div,
    "hr": _hr,
    "img": _img,
    "button": _button,
    "column_set": _column_set,
    "collapsible_panel": _collapsible_panel,
    "form": _form,
}


# -- small checks ------------------------------------------------------------------------


def _obj(path: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CardRefused(path, "a JSON object")
    return value


def _keys(path: str, obj: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise CardRefused(path, f"unsupported properties {', '.join(unknown)}")


def _enum(path: str, value: Any, allowed: set[str]) -> None:
    if value not in allowed:
        raise CardRefused(path, f"{value!r} is not one of {', '.join(sorted(allowed))}")


def _str(path: str, value: Any) -> None:
    if not isinstance(value, str):
        raise CardRefused(path, "a string is required")


def _pixels(path: str, value: Any) -> None:
    if not (isinstance(value, str) and value.endswith("px") and value[:-2].isdigit()):
        raise CardRefused(path, f"{value!r} is neither a keyword nor a size like 8px")


def _text(path: str, value: Any, tags: set[str]) -> None:
    text = _obj(path, value)
    _keys(path, text, TEXT_KEYS)
    _enum(path + ".tag", text.get("tag"), tags)
    _str(path + ".content", text.get("content", ""))
    if "text_color" in text and not _is_colour(text["text_color"]):
        raise CardRefused(path + ".text_color", f"{text['text_color']!r} is not a card colour")
    if "lines" in text and not (isinstance(text["lines"], int) and text["lines"] >= 1):
        raise CardRefused(path + ".lines", "a positive whole number")
    if "text_align" in text:
        _enum(path + ".text_align", text["text_align"], ALIGN)
