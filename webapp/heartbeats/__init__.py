"""Heartbeats (dead man's switches): ping URLs that must be called in time, and the incident
that opens when one falls silent and closes with its next ping."""
