"""Paramètres: profile and password, company, users and roles, delivery addresses."""
