"""Incidents: the service verbs, which actions a state offers, access, queries and what the
list shows."""
