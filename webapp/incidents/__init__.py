"""Incidents: the service verbs, queries and war rooms."""
