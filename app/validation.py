"""Field-by-field checking of submitted forms; every service validates through it.

A `Validator` reads the raw values, collects one French message per faulty field and raises
`ValidationFailed` with all of them at once, so a form comes back with every fault shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from app.errors import ValidationFailed

REQUIRED = "Ce champ est obligatoire."
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']{2,}$")
_PHONE = re.compile(r"^\+?[0-9 .()\-]{6,25}$")
_POSTAL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,11}$")
_USERNAME = re.compile(r"^[A-Za-z0-9._@\-]{3,150}$")
# Control characters no form needs (tab and line breaks excepted); PostgreSQL text refuses NUL.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(value: str) -> str:
    """`value` without control characters: for what is looked up rather than stored."""
    return _CONTROL.sub("", value or "")


def search_text(query: str, max_length: int = 100) -> str:
    """A search box's text, made safe to look up."""
    return printable(query).strip()[:max_length]


def like_pattern(text: str) -> str:
    """A LIKE/ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@dataclass
class Validator:
    values: Mapping[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def raw(self, name: str) -> str:
        return (self.values.get(name) or "").strip()

    def fail(self, name: str, message: str) -> None:
        """Record a message for `name`, keeping the first one when there are several."""
        self.errors.setdefault(name, message)

    def text(self, name: str, *, required: bool = True, max_length: int = 200) -> str:
        value = self.raw(name)
        if required and not value:
            self.fail(name, REQUIRED)
        elif _CONTROL.search(value):
            self.fail(name, "Ce champ contient des caractères non autorisés.")
        elif len(value) > max_length:
            self.fail(name, f"{max_length} caractères au maximum.")
        return value

    def email(self, name: str, *, required: bool = True) -> str:
        value = self.text(name, required=required, max_length=254)
        if value and not _EMAIL.match(value):
            self.fail(name, "Adresse e-mail invalide (exemple : nom@societe.fr).")
        return value

    def phone(self, name: str, *, required: bool = True) -> str:
        value = self.text(name, required=required, max_length=40)
        if value and (not _PHONE.match(value) or sum(c.isdigit() for c in value) < 6):
            self.fail(name, "Numéro de téléphone invalide (chiffres, espaces, + . - ( ) acceptés).")
        return value

    def postal_code(self, name: str) -> str:
        value = self.text(name, max_length=20)
        if value and not _POSTAL_CODE.match(value):
            self.fail(name, "Code postal invalide.")
        return value

    def username(self, name: str) -> str:
        value = self.text(name, max_length=150)
        if value and not _USERNAME.match(value):
            self.fail(
                name,
                "De 3 à 150 caractères : lettres sans accent, chiffres et . _ @ - seulement.",
            )
        return value

    def check(self) -> None:
        """Raise ValidationFailed when any field was refused."""
        if self.errors:
            raise ValidationFailed(dict(self.errors))


def check_address(values: Mapping[str, str], prefix: str = "") -> dict[str, str]:
    """A delivery address form (Paramètres and the wizard share it); raises ValidationFailed.

    `prefix` reads fields named e.g. `new_street` and reports errors under the same names.
    """
    v = Validator({k[len(prefix):]: val for k, val in values.items() if k.startswith(prefix)})
    address = {
        "label": v.text("label", max_length=100),
        "recipient_name": v.text("recipient_name", required=False),
        "street": v.text("street"),
        "complement": v.text("complement", required=False),
        "city": v.text("city", max_length=100),
        "postal_code": v.postal_code("postal_code"),
        "country": v.text("country", max_length=100),
        "email": v.email("email"),
        "phone": v.phone("phone"),
    }
    if v.errors:
        raise ValidationFailed({prefix + name: message for name, message in v.errors.items()})
    return address
