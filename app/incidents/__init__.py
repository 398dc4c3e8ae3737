"""Incidents: the declaration wizard, messages, attachments, status history."""
