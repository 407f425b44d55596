"""Silences and maintenance windows: alerts that are recorded, never paged, for a while.

A silence is Alertmanager's: matchers over an alert's labels between two moments. A
maintenance window is booked ahead, once or weekly, and each occurrence becomes a silence.
The intake asks `holds.silence_for` which silence (if any) holds a new alert; the incident
keeps that answer (`Incident.silence_id`) and dispatch pages nobody while it is set. The
worker's `tick` acts on starts and ends, each exactly once.
"""
