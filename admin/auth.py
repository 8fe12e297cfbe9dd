"""Staff login and logout (Flask-Login, CSRF via Flask-WTF) and one's own TOTP setup.

The rules (password check, lockout, client limits, TOTP codes) live in
``services.staff.logins``; this module keeps the session: a fresh one at login, a second
step for TOTP, idle logout after 30 minutes, and the account's session epoch, so a
logout, a password change or a deactivation ends every copy of the old cookie.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from admin.views.refusals import reason
from core.clock import utcnow
from core.db import get_db
from core.ids import parse_id
from core.secrets import SecretUnreadable, decrypt, encrypt
from models import StaffUser
from services.audit import Actor
from services.errors import InvalidInput
from services.staff import logins

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
_l("Please log in to continue.")  # for pybabel: Flask-Login flashes it through gettext
login_manager.localize_callback = _
login_manager.session_protection = "strong"

IDLE_LIMIT = timedelta(minutes=30)
IDLE_MESSAGE = _l("You were signed out after 30 minutes without activity.")
# Between a right password and the code from the app; after this, start again.
PENDING_LOGIN_TTL = timedelta(minutes=5)
# One answer for an unknown email, a wrong password and a locked account alike, so the
# login page never tells who has an account (the lock itself is still enforced).
WRONG_LOGIN = _l(
    "That email and password do not match an active account. After %(tries)s wrong tries "
    "in a row an account is locked for %(minutes)s minutes.",
    tries=logins.ACCOUNT_LOCK_AFTER,
    minutes=int(logins.ACCOUNT_LOCK_FOR.total_seconds() // 60),
)
WRONG_CODE = _l("That code does not match.")

# Session keys. Flask's session is a signed cookie, so nothing secret goes in plain.
_LAST_SEEN = "roshni_last_seen"
_PENDING = "roshni_pending_login"
_TOTP_SETUP = "roshni_totp_setup"
_EPOCH = "roshni_epoch"  # the account's session_epoch when this session began


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    code = StringField(_l("6-digit code"), validators=[DataRequired(), Length(max=12)])


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    key = parse_id(user_id)
    if key is None:
        return None
    user = get_db().scoped.get(StaffUser, key)
    if user is None or not user.active:
        return None
    # A session from before the account's last logout, password change or deactivation
    # (a copied or replayed cookie) is over, whatever its signature says.
    if session.get(_EPOCH) != user.session_epoch:
        return None
    return user


@bp.before_app_request
def _sign_out_when_idle() -> Response | None:
    """Log out a session unused for 30 minutes; otherwise note this request's time.

    A logged-in session without a time stamp did not come through ``login`` (say,
    a Flask-Login remember cookie, which Roshni never issues) and is ended too.
    """
    if request.endpoint is None or request.endpoint.endswith("static"):
        return None
    if not current_user.is_authenticated:
        if "_user_id" in session:
            # ``_load_user`` refused it (deactivated, or the session's epoch is over):
            # end the session for good, so that nothing revives it.
            session.clear()
        return None
    now = utcnow().timestamp()
    last_seen = session.get(_LAST_SEEN)
    if isinstance(last_seen, int | float) and now - last_seen <= IDLE_LIMIT.total_seconds():
        session[_LAST_SEEN] = now
        return None
    logout_user()
    session.clear()
    flash(str(IDLE_MESSAGE), "info")
    if request.endpoint == "auth.login":
        return None
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        now = utcnow()
        result = logins.authenticate(
            get_db().scoped, form.email.data, form.password.data, now=now, ip_hash=_client()
        )
        if result.outcome is logins.LoginOutcome.NEEDS_TOTP:
            assert result.user is not None
            session.clear()  # nothing of the anonymous session carries over
            session[_PENDING] = {
                "user_id": result.user.id,
                "until": (now + PENDING_LOGIN_TTL).timestamp(),
                "next": request.args.get("next") or "",
            }
            return redirect(url_for("auth.login_code"))
        if result.ok:
            assert result.user is not None
            return _log_in(result.user, request.args.get("next"))
        flash(_login_refusal(result), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> str | Response:
    pending = session.get(_PENDING)
    now = utcnow()
    if not isinstance(pending, dict) or now.timestamp() > pending.get("until", 0):
        session.pop(_PENDING, None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        result = logins.verify_login_code(
            get_db().scoped,
            user_id=int(pending["user_id"]),
            code=form.code.data,
            now=now,
            config=current_app.config["ROSHNI"],
            ip_hash=_client(),
        )
        if result.ok:
            assert result.user is not None
            return _log_in(result.user, pending.get("next"))
        flash(_refusal(WRONG_CODE, result), "error")
        if result.outcome is logins.LoginOutcome.LOCKED:
            session.pop(_PENDING, None)
            return redirect(url_for("auth.login"))
    return render_template("auth/login_code.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        logins.log_out(get_db().scoped, user_id=current_user.id, actor=Actor.staff(current_user.id))
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/auth/totp/setup", methods=["GET", "POST"])
@login_required
def totp_setup() -> str | Response:
    config = current_app.config["ROSHNI"]
    form = CodeForm()
    if current_user.has_totp:
        return render_template("auth/totp.html", form=form, enabled=True)
    secret = _setup_secret()
    if form.validate_on_submit():
        try:
            logins.enable_totp(
                get_db().scoped,
                user_id=current_user.id,
                secret=secret,
                code=form.code.data,
                now=utcnow(),
                config=config,
                actor=Actor.staff(current_user.id),
            )
        except InvalidInput as exc:
            flash(reason(exc), "error")
        else:
            session.pop(_TOTP_SETUP, None)
            flash(_("Two-step login is on. You will be asked for a code at every login."), "info")
            return redirect(url_for("auth.totp_setup"))
    uri = logins.totp_uri(secret, current_user.email)
    return render_template(
        "auth/totp.html", form=form, enabled=False, secret=secret, uri=uri, qr=_qr(uri)
    )


@bp.post("/auth/totp/disable")
@login_required
def totp_disable() -> Response:
    form = CodeForm()
    if form.validate_on_submit():
        try:
            logins.disable_totp(
                get_db().scoped,
                user_id=current_user.id,
                code=form.code.data,
                now=utcnow(),
                config=current_app.config["ROSHNI"],
                actor=Actor.staff(current_user.id),
                ip_hash=_client(),
            )
        except InvalidInput as exc:
            flash(reason(exc), "error")
        else:
            flash(_("Two-step login is off."), "info")
    return redirect(url_for("auth.totp_setup"))


def _log_in(user: StaffUser, next_url: str | None) -> Response:
    session.clear()  # a fresh session at login: no fixation
    login_user(user, remember=False)  # no remember cookie: it would outlive the idle logout
    session[_LAST_SEEN] = utcnow().timestamp()
    session[_EPOCH] = user.session_epoch
    return redirect(_safe_next(next_url))


def keep_this_session(user: StaffUser) -> None:
    """After a change that ended all of ``user``'s sessions (their own new password), let
    the browser that made it carry on; every other copy of the old cookie stays ended."""
    session[_EPOCH] = user.session_epoch


def _login_refusal(result: logins.LoginResult) -> str:
    """The login page's refusal: the same words for every email, known or not, locked or
    not; only a limit on this client's address (true for any email) is told apart."""
    if result.outcome is logins.LoginOutcome.LOCKED and result.by_client:
        return _(
            "Too many failed logins from this address; try again in %(minutes)s minutes.",
            minutes=result.retry_minutes,
        )
    return str(WRONG_LOGIN)


def _refusal(message: str, result: logins.LoginResult) -> str:
    if result.outcome is logins.LoginOutcome.LOCKED:
        more = _(
            "Too many attempts; try again in %(minutes)s minutes.", minutes=result.retry_minutes
        )
        return f"{message} {more}"
    return str(message)


def _client() -> str | None:
    # remote_addr is the peer of this process: behind a proxy, configure ProxyFix so
    # that it is the client's address, or every client shares one limit.
    return logins.hash_client(request.remote_addr, current_app.secret_key or "")


def _setup_secret() -> str:
    """The secret being set up, kept (encrypted) in the session so reloads show the same one."""
    config = current_app.config["ROSHNI"]
    stored = session.get(_TOTP_SETUP)
    if isinstance(stored, str):
        try:
            return decrypt(config, stored)
        except SecretUnreadable:
            pass
    secret = logins.new_totp_secret()
    session[_TOTP_SETUP] = encrypt(config, secret)
    return secret


def _qr(uri: str) -> str | None:
    """An inline SVG QR code (no outside service sees the secret), when segno is installed."""
    try:
        import segno
    except ImportError:
        return None
    qr: Any = segno.make(uri, error="m")
    return qr.svg_data_uri(scale=5, border=2)


# Where a login may lead: the panel's own pages. Anything else (another host, however
# spelt: "//evil", "////evil", "/\\evil", "http://evil") falls back to the panel home.
_NEXT = re.compile(r"/(?:admin|auth)(?:[/?#][!#-\[\]-~]*)?")


def _safe_next(target: str | None) -> str:
    """Only the panel's own relative paths: never bounce a fresh login to another host."""
    if target and _NEXT.fullmatch(target) and not urlsplit(target).netloc:
        return target
    return url_for("admin.index")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)

    @app.get("/")
    def _home() -> Response:
        return redirect(url_for("admin.index"))
