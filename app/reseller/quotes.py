"""Reseller view: quotes (being built; see docs/ARCHITECTURE.md)."""

from __future__ import annotations

ROUTES: list = []
