"""Choosing: which of a channel's dispatch rules matches an incident, whom one of its layers
names, and the live Lark binding a person is told through.

Read by the policy (webapp/dispatch/policy.py), the fallbacks and war rooms alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import DispatchRule, Incident, LarkBinding, LarkIntegration, Member, Team


def rule_matches(rule: DispatchRule, incident: Incident) -> bool:
    if not rule.enabled or not rule.layers:
        return False
    if rule.severities and incident.severity.value not in rule.severities:
        return False
    labels = incident.labels or {}
    return all(labels.get(key) == value for key, value in (rule.label_match or {}).items())


def matching_rule(incident: Incident) -> DispatchRule | None:
    if incident.channel_id is None:
        return None
    rules = db.session.scalars(
        select(DispatchRule)
        .where(DispatchRule.channel_id == incident.channel_id)
        .order_by(DispatchRule.position, DispatchRule.id)
    )
    return next((rule for rule in rules if rule_matches(rule, incident)), None)


def layer_members(incident: Incident, layer: dict[str, Any]) -> list[Member]:
    """The people one layer tells: assignees, whole teams and named members, each once."""
    chosen: list[Member] = list(incident.assignees) if layer.get("assignees") else []
    team_ids = [int(i) for i in layer.get("team_ids") or []]
    if team_ids:
        teams = db.session.scalars(
            select(Team).where(Team.id.in_(team_ids), Team.account_id == incident.account_id)
        )
        chosen += [m for team in teams for m in team.members]
    member_ids = [int(i) for i in layer.get("member_ids") or []]
    if member_ids:
        chosen += db.session.scalars(
            select(Member)
            .where(Member.id.in_(member_ids), Member.account_id == incident.account_id)
            .order_by(Member.id)
        )
    unique: dict[int, Member] = {}
    for member in chosen:
        unique.setdefault(member.id, member)
    return list(unique.values())


def live_binding_of(integration: LarkIntegration, member: Member) -> LarkBinding | None:
    return db.session.scalars(
        select(LarkBinding).where(
            LarkBinding.integration_id == integration.id,
            LarkBinding.member_id == member.id,
            LarkBinding.ended_at.is_(None),
        )
    ).first()
