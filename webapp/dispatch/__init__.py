"""Dispatch: who is told about an incident (the policies, matching, escalation), who falls back
to e-mail or to direct cards when Lark cannot deliver, war rooms, Lark's chat events, and
editing the policies."""
