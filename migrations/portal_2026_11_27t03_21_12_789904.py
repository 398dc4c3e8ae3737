"""Constraints and indexes that Piccolo's column options cannot express.

Raw steps run before a migration's table operations, hence this second migration.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-27T03:21:12:789904"
VERSION = "1.38.0"
DESCRIPTION = "Constraints and indexes beyond Piccolo's column options"

# Constraints and indexes beyond Piccolo's column options, frozen here as history.
CONSTRAINTS_SQL: tuple[str, ...] = (
    # users
    "CREATE UNIQUE INDEX app_user_username_ci ON app_user (lower(username))",
    "CREATE INDEX app_user_email_ci ON app_user (lower(email))",
    """ALTER TABLE app_user ADD CONSTRAINT app_user_one_tenant
       CHECK ((company IS NULL) <> (reseller IS NULL))""",
    """ALTER TABLE app_user ADD CONSTRAINT app_user_role_valid
       CHECK ((company IS NOT NULL AND role IN ('admin', 'basic'))
           OR (reseller IS NOT NULL AND role IN ('admin', 'agent')))""",
    # contracts and articles
    "ALTER TABLE contract ADD CONSTRAINT contract_dates CHECK (ends_on >= starts_on)",
    "ALTER TABLE article ADD CONSTRAINT article_kind_valid CHECK (kind IN ('nas', 'disk', 'other'))",
    "CREATE UNIQUE INDEX article_one_nas_per_contract ON article (contract) WHERE kind = 'nas'",
    "CREATE UNIQUE INDEX article_nas_serial_unique ON article (serial_number) WHERE kind = 'nas'",
    # offers and quote requests
    "CREATE UNIQUE INDEX extension_offer_code ON extension_offer (reseller, code)",
    """ALTER TABLE quote_request ADD CONSTRAINT quote_request_status_valid
       CHECK (status IN ('requested', 'answered', 'closed'))""",
    """CREATE UNIQUE INDEX quote_request_one_open ON quote_request (contract, "offer")
       WHERE status <> 'closed'""",
    # delivery addresses
    """CREATE UNIQUE INDEX delivery_address_one_default ON delivery_address (company)
       WHERE is_default AND archived_at IS NULL""",
    # incidents
    """ALTER TABLE incident ADD CONSTRAINT incident_status_valid
       CHECK (status IN ('draft', 'new', 'in_progress', 'waiting_customer', 'resolved', 'closed'))""",
    """ALTER TABLE incident ADD CONSTRAINT incident_nature_valid
       CHECK (nature IS NULL OR nature IN ('defective', 'damaged', 'incomplete', 'other'))""",
    """ALTER TABLE incident ADD CONSTRAINT incident_submitted_has_number
       CHECK ((status = 'draft') = (number IS NULL))""",
    "CREATE INDEX incident_company_list ON incident (company, submitted_at DESC) WHERE status <> 'draft'",
    "CREATE INDEX incident_drafts ON incident (created_by, updated_at) WHERE status = 'draft'",
    "CREATE INDEX incident_activity ON incident (last_activity_at DESC)",
    "CREATE UNIQUE INDEX incident_article_once ON incident_article (incident, article)",
    """ALTER TABLE message ADD CONSTRAINT message_visibility_valid
       CHECK (visibility IN ('public', 'internal'))""",
    # notifications
    "CREATE INDEX notification_recipient_recent ON notification (recipient, id DESC)",
    "CREATE INDEX notification_unread ON notification (recipient) WHERE read_at IS NULL",
    # sessions, tokens, rate limits
    "ALTER TABLE user_token ADD CONSTRAINT user_token_kind_valid CHECK (kind IN ('reset', 'invitation'))",
    "CREATE INDEX user_session_expiry ON user_session (expires_at)",
    "CREATE INDEX rate_limit_hit_window ON rate_limit_hit (bucket, key, at)",
    "CREATE INDEX audit_event_at ON audit_event (at DESC)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="portal", description=DESCRIPTION)

    async def add_constraints() -> None:
        engine = engine_finder()
        for statement in CONSTRAINTS_SQL:
            await engine.run_ddl(statement)

    manager.add_raw(add_constraints)
    return manager
