"""Paging: the ladder that wakes people. Each member's notification rules per severity (and
the account's defaults), quiet hours, the buzz steps written as outbox rows when a person is
told and stopped by Acknowledge or Resolve, and the SMS / phone buzz budget.

Below the capabilities that call it (dispatch schedules a ladder, the delivery worker runs
its steps): it reads models and Lark's error words, never the worker or the views.
"""
