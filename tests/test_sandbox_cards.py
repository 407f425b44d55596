"""The sandbox reads card JSON 2.0 and 1.0 as the Lark client draws them."""

from __future__ import annotations

from webapp.sandbox import cards


def test_it_reads_a_2_0_card_with_columns_and_links() -> None:
    card = {
        "schema": "2.0",
        "header": {
            "title": {"tag": "plain_text", "content": "P1", "i18n_content": {"zh_cn": "一级"}},
            "template": "red",
            "text_tag_list": [
                {
                    "tag": "text_tag",
                    "text": {"tag": "plain_text", "content": "Triggered"},
                    "color": "red",
                }
            ],
        },
        "body": {
            "elements": [
                {
                    "tag": "column_set",
                    "flex_mode": "flow",
                    "columns": [
                        {
                            "tag": "column",
                            "width": "auto",
                            "elements": [
                                {
                                    "tag": "button",
                                    "text": {"tag": "plain_text", "content": "Ack"},
                                    "name": "ack",
                                    "behaviors": [{"type": "callback", "value": {"a": 1}}],
                                }
                            ],
                        },
                        {
                            "tag": "column",
                            "width": "weighted",
                            "weight": 2,
                            "elements": [
                                {
                                    "tag": "button",
                                    "text": {"tag": "plain_text", "content": "Open"},
                                    "behaviors": [
                                        {
                                            "type": "open_url",
                                            "default_url": "https://example.com/i/1",
                                        }
                                    ],
                                }
                            ],
                        },
                    ],
                },
                {"tag": "table"},
            ]
        },
    }
    view = cards.view(card, "zh_cn")
    assert (view.version, view.title, view.colour, view.tags) == (
        "2.0",
        "一级",
        "red",
        [("Triggered", "red")],
    )
    ack, link = view.interactives
    assert (ack.label, ack.value, ack.name, ack.tag) == ("Ack", {"a": 1}, "ack", "button")
    assert (link.value, link.url) == (None, "https://example.com/i/1")
    columns = view.nodes[0]["columns"]
    assert columns[0]["auto"] and columns[1]["weight"] == 2
    assert view.nodes[1] == {"kind": "unsupported", "tag": "table"}
    # Six components and the two buttons' plain_text elements: Lark counts both.
    assert cards.is_shared(card) and cards.count_elements(card) == 8


def test_it_reads_a_1_0_card_with_i18n_elements_fields_and_an_overflow() -> None:
    card = {
        "config": {"update_multi": False},
        "header": {
            "title": {"tag": "plain_text", "content": "Old", "i18n": {"en_us": "Old card"}},
            "template": "nonsense",
        },
        "i18n_elements": {
            "en_us": [
                {
                    "tag": "div",
                    "fields": [
                        {"is_short": True, "text": {"tag": "lark_md", "content": "**Sev** 1"}}
                    ],
                },
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "overflow",
                            "options": [
                                {"text": {"tag": "plain_text", "content": "30 min"}, "value": "30"}
                            ],
                            "value": {"snooze": True},
                        }
                    ],
                },
            ]
        },
    }
    view = cards.view(card, "en_us")
    assert (view.version, view.title, view.colour) == ("1.0", "Old card", "default")
    assert str(view.nodes[0]["fields"][0]["html"]) == "<strong>Sev</strong> 1"
    [overflow] = view.interactives
    assert (
        overflow.tag == "overflow"
        and overflow.options == [("30 min", "30")]
        and overflow.value == {"snooze": True}
    )
    assert not cards.is_shared(card)


def test_markdown_is_escaped_before_it_is_formatted() -> None:
    html = str(
        cards.markdown(
            "<script>alert(1)</script> **b** [x](javascript:alert(1)) [ok](https://a.example/)"
        )
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<strong>b</strong>" in html and 'href="javascript' not in html
    assert '<a href="https://a.example/"' in html
    assert (
        str(cards.markdown("<font color='red'>down</font>\nnext"))
        == '<span class="lk-font-red">down</span><br>next'
    )
