"""The card and the web app offer the same actions in every state, because one rule decides."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests import factories
from tests.incident_pages_support import enter, integration
from webapp.cards.render import incident_card
from webapp.extensions import db
from webapp.incidents import offers
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Incident, LarkIntegration, Source

HX = {"HX-Request": "true"}
LINKS = {"Refresh", "War room", "Open in web app"}
CARD_SNOOZE = {"30 min", "1 h", "4 h", "24 h"}


def _triggered(incident: Incident, actor: Actor) -> None:
    pass


def _acknowledged(incident: Incident, actor: Actor) -> None:
    incidents.acknowledge(incident, actor)


def _snoozed(incident: Incident, actor: Actor) -> None:
    incidents.snooze(incident, actor, 60)


def _acknowledged_then_snoozed(incident: Incident, actor: Actor) -> None:
    incidents.acknowledge(incident, actor)
    incidents.snooze(incident, actor, 60)


def _resolved(incident: Incident, actor: Actor) -> None:
    incidents.resolve(incident, actor)


def _reopened(incident: Incident, actor: Actor) -> None:
    incidents.resolve(incident, actor)
    incidents.reopen(incident, actor)


STATES: dict[str, tuple[Callable[[Incident, Actor], None], list[str]]] = {
    "triggered": (_triggered, ["Acknowledge", "Resolve", "Snooze"]),
    "acknowledged": (_acknowledged, ["Unacknowledge", "Resolve", "Snooze"]),
    "snoozed": (_snoozed, ["Unsnooze", "Resolve"]),
    "acknowledged and snoozed": (_acknowledged_then_snoozed, ["Unsnooze", "Resolve"]),
    "resolved": (_resolved, ["Reopen"]),
    "reopened": (_reopened, ["Acknowledge", "Resolve", "Snooze"]),
}


def card_verbs(incident: Incident) -> list[str]:
    """The card's action buttons in order, its snooze lengths read as one "Snooze"."""
    card = incident_card(incident, locale="en", web_url="https://example.test/")
    labels = re.findall(
        r"'tag': 'button', 'text': \{'tag': 'plain_text', 'content': '([^']+)'", str(card)
    )
    out = [label for label in labels if label not in LINKS and label not in CARD_SNOOZE]
    if any(label in CARD_SNOOZE for label in labels):
        out.append("Snooze")
    return out


def press_on_row(
    client: FlaskClient, lark: LarkIntegration, incident: Incident, verb: str
) -> TestResponse:
    """A row's button pressed through htmx, with the page's CSRF token."""
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token
    return client.post(
        f"/lark/{lark.key}/incidents/{incident.number}/{verb}",
        data={"version": str(incident.version), "region": "row"},
        headers={**HX, "X-CSRFToken": token.group(1)},
    )


@pytest.fixture
def lark(owner: factories.Persona) -> LarkIntegration:
    return integration(owner.account)


@pytest.mark.parametrize("state", list(STATES))
def test_the_card_the_row_and_the_detail_offer_the_same_verbs_in_every_state(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration, state: str
) -> None:
    enter(client, owner, lark)
    incident = factories.incident(owner.account, "Disk full on db-01", assignees=[owner.member])
    reach, expected = STATES[state]
    reach(incident, Actor(owner.member, Source.WEB))
    db.session.refresh(incident)

    assert card_verbs(incident) == expected

    row = client.get(f"/lark/{lark.key}/incidents?status=any").get_data(as_text=True)
    row = row[row.index(f'id="incident-{incident.number}"') :]
    row = row[: row.index("</tr>")]
    row_verbs = re.findall(r"<button [^>]*>([^<]+)</button>", row)
    menu = client.get(f"/lark/{lark.key}/incidents/{incident.number}/menu", headers=HX)
    if "Snooze" in expected:
        assert 'name="minutes"' in menu.get_data(as_text=True)
        row_verbs.append("Snooze")
    else:
        assert 'name="minutes"' not in menu.get_data(as_text=True)
    assert row_verbs == expected

    detail = client.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)
    detail = detail[detail.index('id="incident-detail"') :]
    actions = detail[detail.index('id="inc-act-detail"') : detail.index("</form>")]
    detail_verbs = re.findall(r"<button [^>]*>([^<]+)</button>", actions)
    if 'class="inc-action inc-snooze"' in detail:
        detail_verbs.append("Snooze")
    assert detail_verbs == expected


def test_unacknowledge_from_the_web_app_puts_the_incident_back_to_triggered(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    incident = factories.incident(owner.account, "Disk full on db-01", assignees=[owner.member])
    incidents.acknowledge(incident, Actor(owner.member, Source.CARD))
    response = press_on_row(client, lark, incident, "unacknowledge")
    assert response.status_code == 200
    assert f"Incident #{incident.number} is triggered again." in response.headers["HX-Trigger"]
    assert ">Acknowledge</button>" in response.get_data(as_text=True)
    db.session.expire_all()
    assert incidents.may_view(owner.member, incident)
    assert db.session.get(Incident, incident.id).status.value == "Triggered"  # type: ignore[union-attr]


def test_a_snoozed_incident_is_resolved_from_its_card(
    client: FlaskClient, owner: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01")
    incidents.snooze(incident, Actor(owner.member, Source.WEB), 60)
    card = incident_card(incident, locale="en", web_url="https://example.test/")
    values = re.findall(r"'value': \{'a': '(\w+)'", str(card))
    assert values[:2] == ["uns", "res"]


def test_after_acknowledge_the_card_names_who_acknowledged_and_who_is_assigned(
    owner: factories.Persona, member: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01")
    incidents.acknowledge(incident, Actor(member.member, Source.CARD))
    name = member.member.name
    english = str(incident_card(incident, locale="en", web_url="https://example.test/"))
    assert f"Assignees: {name}" in english
    assert f"Acknowledged by {name} at" in english
    chinese = str(incident_card(incident, locale="zh", web_url="https://example.test/"))
    assert f"处理人：{name}" in chinese
    assert "处理人：无" not in chinese


def test_acknowledging_an_assigned_incident_keeps_its_assignees(
    owner: factories.Persona, member: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "Disk full on db-01", assignees=[owner.member])
    incidents.acknowledge(incident, Actor(member.member, Source.CARD))
    assert [m.name for m in incident.assignees] == [owner.member.name]
    english = str(incident_card(incident, locale="en", web_url="https://example.test/"))
    assert f"Acknowledged by {member.member.name} at" in english


def test_the_list_carries_one_csrf_field_whatever_the_number_of_rows(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    factories.incident(owner.account, "First", assignees=[owner.member])
    few = (
        client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True).count('name="csrf_token"')
    )
    for n in range(20):
        factories.incident(owner.account, f"More {n}", assignees=[owner.member])
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    assert page.count('class="inc-row') == 21
    assert page.count('name="csrf_token"') == few
    rows = page[page.index('id="incident-rows"') :]
    assert 'name="csrf_token"' not in rows  # the rows' buttons belong to #inc-act-row


def test_a_row_button_works_without_javascript_through_the_shared_form(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    incident = factories.incident(owner.account, "Disk full", assignees=[owner.member])
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    shared = page[page.index('<form id="inc-act-row"') :]
    shared = shared[: shared.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', shared))
    button = re.search(
        rf'<button form="inc-act-row" formaction="([^"]+/{incident.number}/acknowledge)" '
        r'hx-post="[^"]+" name="version" value="(\d+)"',
        page,
    )
    assert button and set(fields) == {"csrf_token", "region", "next"}
    response = client.post(button.group(1), data={**fields, "version": button.group(2)})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status.value == "Processing"  # type: ignore[union-attr]


def test_htmx_needs_only_the_page_s_token_header_and_nothing_passes_without_it(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    incident = factories.incident(owner.account, "Disk full", assignees=[owner.member])
    page = client.get(f"/lark/{lark.key}/incidents").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert token
    url = f"/lark/{lark.key}/incidents/{incident.number}/resolve"
    form = {"version": str(incident.version), "region": "row"}
    refused = client.post(url, data=form, headers=HX)
    assert refused.status_code == 400
    done = client.post(url, data=form, headers={**HX, "X-CSRFToken": token.group(1)})
    assert done.status_code == 200
    assert f"Incident #{incident.number} resolved." in done.headers["HX-Trigger"]


@pytest.mark.parametrize("state", list(STATES))
def test_the_service_accepts_exactly_the_verbs_the_card_offers_in_every_state(
    owner: factories.Persona, state: str
) -> None:
    reach, expected = STATES[state]
    for verb in offers.Verb:
        incident = factories.incident(owner.account, "Disk full on db-01")
        actor = Actor(owner.member, Source.WEB)
        reach(incident, actor)
        db.session.refresh(incident)
        version = incident.version
        if offers.label(verb) in expected:
            offers.perform(verb, incident, actor, version, 60)
            continue
        with pytest.raises(incidents.InvalidTransition):
            offers.perform(verb, incident, actor, version, 60)
        db.session.expire_all()
        assert db.session.get(Incident, incident.id).version == version, verb  # type: ignore[union-attr]


def test_a_snoozed_incident_refuses_acknowledge_from_the_web_app_and_stays_triggered(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration
) -> None:
    enter(client, owner, lark)
    incident = factories.incident(owner.account, "Disk full on db-01", assignees=[owner.member])
    incidents.snooze(incident, Actor(owner.member, Source.CARD), 60)
    response = press_on_row(client, lark, incident, "acknowledge")
    assert "Unsnooze it first" in response.headers["HX-Trigger"]
    assert f"Incident #{incident.number} acknowledged." not in response.headers["HX-Trigger"]
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).status.value == "Triggered"  # type: ignore[union-attr]


# The one word per state, whoever draws it (webapp/incidents/states.state_words).
WORDS = {
    "triggered": ("Triggered", "待处理"),
    "acknowledged": ("Acknowledged", "已认领"),
    "snoozed": ("Snoozed", "已暂缓"),
    "acknowledged and snoozed": ("Snoozed", "已暂缓"),
    "resolved": ("Resolved", "已关闭"),
    "reopened": ("Triggered", "待处理"),
}


@pytest.mark.parametrize("locale", ["en", "zh"])
@pytest.mark.parametrize("state", list(STATES))
def test_the_card_the_row_and_the_detail_name_each_state_with_one_word(
    client: FlaskClient, owner: factories.Persona, lark: LarkIntegration, state: str, locale: str
) -> None:
    owner.member.locale = locale
    db.session.commit()
    enter(client, owner, lark)
    incident = factories.incident(owner.account, "Disk full on db-01", assignees=[owner.member])
    STATES[state][0](incident, Actor(owner.member, Source.WEB))
    db.session.refresh(incident)
    word = WORDS[state][locale == "zh"]

    card = incident_card(incident, locale=locale, web_url="https://example.test/")
    assert card["header"]["text_tag_list"][0]["text"]["content"] == word

    page = client.get(f"/lark/{lark.key}/incidents?status=any").get_data(as_text=True)
    row = page[page.index(f'id="incident-{incident.number}"') :]
    assert re.findall(r'<span class="badge st-\w+">([^<]+)</span>', row)[0] == word

    detail = client.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)
    assert re.findall(r'<span class="badge st-\w+">([^<]+)</span>', detail)[0] == word
