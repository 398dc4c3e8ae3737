"""The NAS service-contract portal. `create_app()` is the one place where the app is assembled."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from piccolo.engine import engine_finder

HERE = Path(__file__).resolve().parent


def _template_engine() -> JinjaTemplateEngine:
    from app.accounts.passwords import MIN_LENGTH
    from app.config import settings
    from app.web import formatting

    environment = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change with a deployment, not while serving: no stat() of every template and
        # macro file on every render, except with DEBUG=1 where an edit shows on reload.
        auto_reload=settings.debug,
    )
    environment.filters["date_fr"] = formatting.date_fr
    environment.filters["datetime_fr"] = formatting.datetime_fr
    environment.filters["number_fr"] = formatting.number_fr
    environment.globals["password_min_length"] = MIN_LENGTH  # the hint beside every new password
    return JinjaTemplateEngine.from_environment(environment)


async def _release_as_is(connection: object) -> None:
    """The pool's `reset`: nothing beyond what asyncpg always does on release (roll back a
    transaction left open, drop listeners).

    asyncpg's default reset sends `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`
    after every query, which was half of all round trips of a page. Nothing of ours leaves
    session state on a pooled connection: LISTEN is the broker's own connection, the only
    advisory lock is transaction-scoped (pg_advisory_xact_lock), no SET, no cursor outside a
    transaction (tests/db/test_pool.py holds this).
    """


@asynccontextmanager
async def _database(app: Litestar) -> AsyncIterator[None]:
    """The connection pool, then the notification broker (its own LISTEN connection)."""
    from app.config import settings
    from app.db.pool import start_pool
    from app.notifications.broker import start_broker, stop_broker
    from app.web.runtime import tune_garbage_collector

    engine = engine_finder()
    await start_pool(engine, min_size=1, max_size=settings.database_pool_size, reset=_release_as_is)
    await start_broker(settings.database_url)
    tune_garbage_collector()
    try:
        yield
    finally:
        await stop_broker()
        await engine.close_connection_pool()


def create_app() -> Litestar:
    """Assemble the application: routes of every area, middleware, templates, errors."""
    from app.accounts.controllers import AccountController
    from app.cli import CLIPlugin
    from app.contracts.controllers import ActivationController, ContractController, serial_help
    from app.incidents.controllers import IncidentController
    from app.notifications.controllers import NotificationController
    from app.reseller import routes as reseller_routes
    from app.settings.controllers import AddressesController, SettingsController, UsersController
    from app.incidents.wizard_controllers import WizardController, declare, start_declaration
    from app.web.auth import SessionMiddleware
    from app.web.errors import EXCEPTION_HANDLERS, unknown_page
    from app.web.health import healthz
    from app.config import settings
    from app.maintenance import maintenance_task
    from app.web.log_filters import mask_link_tokens_in_logs
    from app.web.security import security_headers

    logging.basicConfig(level=logging.DEBUG if settings.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    mask_link_tokens_in_logs()  # after the server configured its loggers (uvicorn does, before the factory)
    return Litestar(
        route_handlers=[
            AccountController,
            ActivationController,
            ContractController,
            serial_help,
            IncidentController,
            WizardController,
            declare,
            start_declaration,
            NotificationController,
            *reseller_routes(),
            SettingsController,
            UsersController,
            AddressesController,
            healthz,
            unknown_page,
            create_static_files_router(path="/static", directories=[HERE / "static"],
                                       name="static", include_in_schema=False),
        ],
        middleware=[SessionMiddleware],
        before_send=[security_headers(hsts=settings.secure_cookies)],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="csrftoken",
            header_name="x-csrftoken",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            # GET only: /healthz for probes; the stream, whose every event would otherwise go
            # through the CSRF middleware's send wrapper (issue 8's broadcast). Regular
            # expressions searched anywhere in the path: anchored, or /contracts/healthz-1/…
            # would skip the check too.
            exclude=["^/healthz$", "^/notifications/stream$"],
        ),
        template_config=TemplateConfig(instance=_template_engine()),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        lifespan=[_database, maintenance_task],
        plugins=[CLIPlugin()],
        openapi_config=None,
        debug=settings.debug,
    )
