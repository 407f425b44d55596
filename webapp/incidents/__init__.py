"""Incidents: the service verbs, queries, alert intake and war rooms."""
