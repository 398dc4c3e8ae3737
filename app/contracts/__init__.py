"""Contracts, articles, activation by NAS serial, extension offers and quote requests."""
