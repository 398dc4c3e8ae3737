"""The incident workflow of SPEC §2 and its French words."""

from __future__ import annotations

STATUS_LABELS = {
    "draft": "Brouillon",
    "new": "Nouveau",
    "in_progress": "En cours",
    "waiting_customer": "En attente de votre réponse",
    "resolved": "Résolu",
    "closed": "Clos",
}

# The sentence of the status banner and of the [Nouveau statut] notification.
STATUS_SENTENCES = {
    "new": "Votre déclaration a été transmise à votre revendeur.",
    "in_progress": "Votre revendeur traite cet incident.",
    "waiting_customer": "Votre revendeur attend votre réponse.",
    "resolved": "Cet incident a été résolu.",
    "closed": "Cet incident est clos.",
}

NATURE_LABELS = {
    "defective": "Produit défectueux",
    "damaged": "Produit endommagé",
    "incomplete": "Produit incomplet",
    "other": "Autre",
}

# Who may move an incident where: new → in_progress ⇄ waiting_customer → resolved → closed.
TRANSITIONS = {
    "new": ("in_progress", "waiting_customer", "resolved"),
    "in_progress": ("waiting_customer", "resolved"),
    "waiting_customer": ("in_progress", "resolved"),
    "resolved": ("in_progress", "closed"),
    "closed": (),
}

OPEN_STATUSES = ("new", "in_progress", "waiting_customer")
# The same as an SQL list of literals: a partial index (incident_reseller_open) matches only a
# query that spells its predicate the same way, not a bound array.
OPEN_STATUSES_SQL = "(" + ", ".join(f"'{status}'" for status in OPEN_STATUSES) + ")"
CUSTOMER_FILTERS = ("new", "in_progress", "waiting_customer", "resolved", "closed")


def can_move(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, ())
