"""Dispatch: who is told about an incident, escalation, and editing the policies."""
