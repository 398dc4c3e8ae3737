"""The whole domain of SPEC §2 as Piccolo tables.

Piccolo's ForeignKey is nullable unless told otherwise: every link a row cannot live without
says `null=False`.

Constraints Piccolo cannot declare (case-insensitive uniqueness, partial unique indexes, CHECKs)
are raw SQL in the migrations (`CONSTRAINTS_SQL` of the first one): read them there.
"""

from __future__ import annotations

from piccolo.columns import (
    JSONB,
    BigInt,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Reseller(Table, tablename="reseller"):
    code = Varchar(length=32, unique=True)
    name = Varchar(length=200)
    street = Varchar(length=200, default="")
    complement = Varchar(length=200, default="")
    city = Varchar(length=100, default="")
    postal_code = Varchar(length=20, default="")
    country = Varchar(length=100, default="France")
    email = Varchar(length=254)
    phone = Varchar(length=40, default="")
    created_at = Timestamptz(default=TimestamptzNow())


class Company(Table, tablename="company"):
    name = Varchar(length=200)
    street = Varchar(length=200)
    complement = Varchar(length=200, default="")
    city = Varchar(length=100)
    postal_code = Varchar(length=20)
    country = Varchar(length=100)
    email = Varchar(length=254)
    phone = Varchar(length=40)
    created_at = Timestamptz(default=TimestamptzNow())


class User(Table, tablename="app_user"):
    """A person who signs in: a customer (company set) or a reseller user (reseller set)."""

    company = ForeignKey(Company, null=True, on_delete=OnDelete.restrict, index=True)
    reseller = ForeignKey(Reseller, null=True, on_delete=OnDelete.restrict, index=True)
    role = Varchar(length=16)  # admin | basic (customers); admin | agent (resellers)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    email = Varchar(length=254)
    phone = Varchar(length=40, default="")
    username = Varchar(length=150)  # unique on lower(username): see CONSTRAINTS_SQL
    password_hash = Text(null=True, default=None)  # None until an invited user chooses one
    is_active = Boolean(default=True)
    language = Varchar(length=8, default="fr")
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class Contract(Table, tablename="contract"):
    number = Varchar(length=32, unique=True)
    product_reference = Varchar(length=64)
    reseller = ForeignKey(Reseller, null=False, on_delete=OnDelete.restrict, index=True)
    company = ForeignKey(Company, null=True, on_delete=OnDelete.restrict, index=True)
    activated_at = Timestamptz(null=True, default=None)
    activated_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    starts_on = Date()
    ends_on = Date()
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    # Number, product reference and every article's serial, upper-cased, for the contract
    # searches; written by triggers only (migration "contract.search_text: triggers and fill").
    search_text = Text(default="")


class Article(Table, tablename="article"):
    """An item covered by a contract; the one of kind `nas` identifies the contract by its serial."""

    contract = ForeignKey(Contract, null=False, on_delete=OnDelete.cascade, index=True)
    designation = Varchar(length=300)
    product_reference = Varchar(length=64)
    serial_number = Varchar(length=64, index=True)  # normalised: trimmed, upper case, no spaces
    kind = Varchar(length=8)  # nas | disk | other
    specs_url = Varchar(length=500, default="")
    specs_text = Text(default="")
    position = Integer(default=0)


class ExtensionOffer(Table, tablename="extension_offer"):
    reseller = ForeignKey(Reseller, null=False, on_delete=OnDelete.restrict, index=True)
    code = Varchar(length=64)
    label = Text()
    duration_months = Integer()
    product_references = JSONB(default=[])  # list of product references the offer applies to
    is_active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class QuoteRequest(Table, tablename="quote_request"):
    contract = ForeignKey(Contract, null=False, on_delete=OnDelete.cascade, index=True)
    offer = ForeignKey(ExtensionOffer, null=False, on_delete=OnDelete.restrict)
    requested_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    requested_at = Timestamptz(default=TimestamptzNow())
    status = Varchar(length=16, default="requested")  # requested | answered | closed
    answer = Text(default="")
    answered_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    answered_at = Timestamptz(null=True, default=None)


class DeliveryAddress(Table, tablename="delivery_address"):
    company = ForeignKey(Company, null=False, on_delete=OnDelete.cascade, index=True)
    label = Varchar(length=100)
    recipient_name = Varchar(length=200, default="")
    street = Varchar(length=200)
    complement = Varchar(length=200, default="")
    city = Varchar(length=100)
    postal_code = Varchar(length=20)
    country = Varchar(length=100)
    email = Varchar(length=254)
    phone = Varchar(length=40)
    is_default = Boolean(default=False)
    archived_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class Incident(Table, tablename="incident"):
    """A declared problem on one contract; a `draft` is a wizard in progress seen by its author only.

    The delivery address is copied in at submission so later edits of the address book never
    rewrite history.
    """

    number = Varchar(length=16, null=True, default=None, unique=True)  # None while a draft
    contract = ForeignKey(Contract, null=False, on_delete=OnDelete.restrict, index=True)
    company = ForeignKey(Company, null=False, on_delete=OnDelete.restrict, index=True)
    # The contract's reseller, copied for the reseller queue's indexes. A composite foreign key
    # holds it equal to the contract's (a wrong value is refused, a contract handed to another
    # reseller carries its incidents along) and a trigger fills it from the contract on insert,
    # whatever the insert says (migration "incident.reseller filled, kept true").
    reseller = ForeignKey(Reseller, null=False, on_delete=OnDelete.restrict)
    created_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    assignee = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    status = Varchar(length=24, default="draft")
    title = Varchar(length=200, default="")
    nature = Varchar(length=16, null=True, default=None)  # defective | damaged | incomplete | other
    description = Text(default="")
    wizard_step = Varchar(length=16, default="contract")
    delivery_address = ForeignKey(DeliveryAddress, null=True, on_delete=OnDelete.set_null)
    delivery_label = Varchar(length=100, default="")
    delivery_recipient = Varchar(length=200, default="")
    delivery_street = Varchar(length=200, default="")
    delivery_complement = Varchar(length=200, default="")
    delivery_city = Varchar(length=100, default="")
    delivery_postal_code = Varchar(length=20, default="")
    delivery_country = Varchar(length=100, default="")
    delivery_email = Varchar(length=254, default="")
    delivery_phone = Varchar(length=40, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    submitted_at = Timestamptz(null=True, default=None)
    resolved_at = Timestamptz(null=True, default=None)
    last_activity_at = Timestamptz(default=TimestamptzNow())


class IncidentArticle(Table, tablename="incident_article"):
    incident = ForeignKey(Incident, null=False, on_delete=OnDelete.cascade, index=True)
    article = ForeignKey(Article, null=False, on_delete=OnDelete.restrict)


class IncidentDayCounter(Table, tablename="incident_day_counter"):
    """The last sequence number handed out on a day (Europe/Paris); incremented by an upsert."""

    day = Date(primary_key=True)
    last_value = Integer(default=0)


class IncidentStatusChange(Table, tablename="incident_status_change"):
    incident = ForeignKey(Incident, null=False, on_delete=OnDelete.cascade, index=True)
    from_status = Varchar(length=24, null=True, default=None)
    to_status = Varchar(length=24)
    changed_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    changed_at = Timestamptz(default=TimestamptzNow())


class Message(Table, tablename="message"):
    incident = ForeignKey(Incident, null=False, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    body = Text()
    visibility = Varchar(length=16, default="public")  # public | internal (reseller-only)
    created_at = Timestamptz(default=TimestamptzNow())


class Attachment(Table, tablename="attachment"):
    incident = ForeignKey(Incident, null=False, on_delete=OnDelete.cascade, index=True)
    message = ForeignKey(Message, null=True, on_delete=OnDelete.set_null)
    original_name = Varchar(length=255)
    stored_name = Varchar(length=64, unique=True)  # random, under ATTACHMENTS_DIR
    content_type = Varchar(length=127)
    size = BigInt()
    sha256 = Varchar(length=64)
    uploaded_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)
    uploaded_at = Timestamptz(default=TimestamptzNow())
    deleted_at = Timestamptz(null=True, default=None)
    deleted_by = ForeignKey(User, null=True, on_delete=OnDelete.set_null)


class Notification(Table, tablename="notification"):
    """A row first, a push second: nothing is lost when no browser is connected."""

    recipient = ForeignKey(User, null=False, on_delete=OnDelete.cascade)
    incident = ForeignKey(Incident, null=True, on_delete=OnDelete.cascade)
    quote_request = ForeignKey(QuoteRequest, null=True, on_delete=OnDelete.cascade)
    kind = Varchar(length=32)  # new_message | new_status | new_incident | quote_request | ...
    title = Varchar(length=200)
    body = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class UserSession(Table, tablename="user_session"):
    """A signed-in browser; the cookie holds a random token, the row only its SHA-256."""

    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    remember = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    ip = Varchar(length=64, default="")
    user_agent = Varchar(length=300, default="")


class UserToken(Table, tablename="user_token"):
    """A single-use link sent by e-mail: password reset or invitation. Stored hashed."""

    user = ForeignKey(User, null=False, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=16)  # reset | invitation
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class AuditEvent(Table, tablename="audit_event"):
    at = Timestamptz(default=TimestamptzNow())
    actor = ForeignKey(User, null=True, on_delete=OnDelete.set_null, index=True)
    action = Varchar(length=64)
    object_type = Varchar(length=32, default="")
    object_id = Varchar(length=64, default="")
    ip = Varchar(length=64, default="")
    details = JSONB(default={})


class RateLimitHit(Table, tablename="rate_limit_hit"):
    """One counted attempt (a failed sign-in, a reset request...) in a sliding window."""

    bucket = Varchar(length=32)
    key = Varchar(length=200)
    at = Timestamptz(default=TimestamptzNow())
