"""Incident cards: drawing them, their button values, what a press answers, receipts."""
