"""Sign-in and sign-out, registration, forgotten password, choosing a password from a link."""

from __future__ import annotations

from datetime import timedelta

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.accounts import services
from app.accounts.sessions import close_session, open_session
from app.config import settings
from app.errors import RateLimited, ValidationFailed
from app.web.auth import SESSION_COOKIE, current_user
from app.web.forms import client_ip, form_values, safe_next
from app.web.rendering import render
from app.web.security import CLEAR_SITE_DATA_ON_SIGN_OUT

REGISTRATION_SECRETS = ("password", "password_confirm")


def home_for(request: Request) -> str:
    user = current_user(request)
    if user is None:
        return "/login"
    return "/reseller" if user.is_reseller else "/contracts"


def _signed_in(location: str, token: str, *, remember: bool) -> Response:
    """Redirect to `location` with a fresh session cookie (a new id at every sign-in)."""
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
        max_age=int(timedelta(days=settings.remember_me_days).total_seconds()) if remember else None,
    )
    return Redirect(location, status_code=303, cookies=[cookie])


async def _start_session(request: Request, user_id: int, *, remember: bool) -> str:
    if old := request.cookies.get(SESSION_COOKIE):
        await close_session(old)
    return await open_session(
        user_id, remember=remember, ip=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )


class AccountController(Controller):
    @get("/", name="home")
    async def home(self, request: Request) -> Redirect:
        return Redirect(home_for(request), status_code=303)

    @get("/login", name="login")
    async def login_page(self, request: Request, next: FromQuery[str | None] = None) -> Response:
        if current_user(request) is not None:
            return Redirect(safe_next(next, home_for(request)), status_code=303)
        return render(request, "accounts/login.html", {"values": {}, "next": next or ""})

    @post("/login")
    async def login(self, request: Request) -> Response:
        values = await form_values(request)
        next_url = values.get("next", "")
        context = {"values": {"username": values.get("username", "")}, "next": next_url}
        try:
            user_id = await services.authenticate(
                values.get("username", ""), values.get("password", ""), ip=client_ip(request)
            )
        except services.SignInRefused as refusal:
            return render(request, "accounts/login.html", {**context, "error": str(refusal)},
                          status_code=422)
        except RateLimited as limited:
            return render(request, "accounts/login.html", {**context, "error": limited.message},
                          status_code=429, headers={"Retry-After": str(limited.retry_after)})
        remember = values.get("remember") == "on"
        token = await _start_session(request, user_id, remember=remember)
        return _signed_in(safe_next(next_url, "/"), token, remember=remember)

    @post("/logout", name="logout")
    async def logout(self, request: Request) -> Response:
        if token := request.cookies.get(SESSION_COOKIE):
            await close_session(token)
        response = Redirect("/login", status_code=303,
                            headers={"Clear-Site-Data": CLEAR_SITE_DATA_ON_SIGN_OUT})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @get("/register", name="register")
    async def register_page(self, request: Request) -> Template:
        return render(request, "accounts/register.html", {"values": {}, "errors": {}})

    @post("/register")
    async def register(self, request: Request) -> Response:
        values = await form_values(request)
        try:
            user_id = await services.register(values, ip=client_ip(request))
        except ValidationFailed as refused:
            kept = {k: v for k, v in values.items() if k not in REGISTRATION_SECRETS}
            return render(request, "accounts/register.html",
                          {"values": kept, "errors": refused.errors}, status_code=422)
        token = await _start_session(request, user_id, remember=False)
        return _signed_in("/contracts?welcome=1", token, remember=False)

    @get("/password/forgot", name="password_forgot")
    async def forgot_page(self, request: Request) -> Template:
        return render(request, "accounts/forgot.html", {"values": {}, "errors": {}})

    @post("/password/forgot")
    async def forgot(self, request: Request) -> Template:
        values = await form_values(request)
        try:
            await services.request_password_reset(values.get("identifier", ""), ip=client_ip(request))
        except ValidationFailed as refused:
            return render(request, "accounts/forgot.html",
                          {"values": values, "errors": refused.errors}, status_code=422)
        return render(request, "accounts/forgot.html", {"values": {}, "errors": {}, "sent": True})

    @get("/password/reset/{token:str}", name="password_reset")
    async def reset_page(self, request: Request, token: FromPath[str]) -> Template:
        holder = await services.token_holder(token)
        return render(request, "accounts/reset.html",
                      {"holder": holder, "token": token, "errors": {}},
                      status_code=200 if holder else 410,
                      headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})

    @post("/password/reset/{token:str}")
    async def reset(self, request: Request, token: FromPath[str]) -> Response:
        values = await form_values(request)
        try:
            await services.choose_password(
                token, values.get("password", ""), values.get("password_confirm", ""),
                ip=client_ip(request),
            )
        except ValidationFailed as refused:
            holder = await services.token_holder(token)
            return render(request, "accounts/reset.html",
                          {"holder": holder, "token": token, "errors": refused.errors},
                          status_code=422 if holder else 410,
                          headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
        response = Redirect("/login?password=changed", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response
