"""Notifications: rows first (written with their cause), pushes second (see issue 6)."""
