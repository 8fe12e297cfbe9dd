"""Staff login and logout (Flask-Login, argon2 hashes, CSRF via Flask-WTF).

The rules (lockout, client limits, codes) live in ``services.staff``; this module
keeps the session: a fresh one at login, a second step for TOTP, idle logout.
"""

from __future__ import annotations

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
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from core.clock import utcnow
from core.secrets import SecretUnreadable, decrypt, encrypt
from models import StaffUser
from services import logins
from services.audit import Actor
from services.errors import InvalidInput

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.session_protection = "strong"

IDLE_LIMIT = timedelta(minutes=30)
IDLE_MESSAGE = "You were signed out after 30 minutes without activity."
# Between a right password and the code from the app; after this, start again.
PENDING_LOGIN_TTL = timedelta(minutes=5)
WRONG_LOGIN = "That email and password do not match an active account."
WRONG_CODE = "That code does not match."

# Session keys. Flask's session is a signed cookie, so nothing secret goes in plain.
_LAST_SEEN = "roshni_last_seen"
_PENDING = "roshni_pending_login"
_TOTP_SETUP = "roshni_totp_setup"


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    code = StringField("6-digit code", validators=[DataRequired(), Length(max=12)])


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    from core.app import get_db

    if not user_id.isdigit():
        return None
    user = get_db().scoped.get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


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
            # The account was deactivated (``_load_user`` refused it): end the session
            # for good, so that reactivating the account does not revive it.
            session.clear()
        return None
    now = utcnow().timestamp()
    last_seen = session.get(_LAST_SEEN)
    if isinstance(last_seen, int | float) and now - last_seen <= IDLE_LIMIT.total_seconds():
        session[_LAST_SEEN] = now
        return None
    logout_user()
    session.clear()
    flash(IDLE_MESSAGE, "info")
    if request.endpoint == "auth.login":
        return None
    if request.method == "GET":
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    from core.app import get_db

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
        flash(_refusal(WRONG_LOGIN, result), "error")
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> str | Response:
    from core.app import get_db

    pending = session.get(_PENDING)
    now = utcnow()
    if not isinstance(pending, dict) or now.timestamp() > pending.get("until", 0):
        session.pop(_PENDING, None)
        flash("Please log in again.", "info")
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
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/auth/totp/setup", methods=["GET", "POST"])
@login_required
def totp_setup() -> str | Response:
    from core.app import get_db

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
            flash(exc.message, "error")
        else:
            session.pop(_TOTP_SETUP, None)
            flash("Two-step login is on. You will be asked for a code at every login.", "info")
            return redirect(url_for("auth.totp_setup"))
    uri = logins.totp_uri(secret, current_user.email)
    return render_template(
        "auth/totp.html", form=form, enabled=False, secret=secret, uri=uri, qr=_qr(uri)
    )


@bp.post("/auth/totp/disable")
@login_required
def totp_disable() -> Response:
    from core.app import get_db

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
            flash(exc.message, "error")
        else:
            flash("Two-step login is off.", "info")
    return redirect(url_for("auth.totp_setup"))


def _log_in(user: StaffUser, next_url: str | None) -> Response:
    session.clear()  # a fresh session at login: no fixation
    login_user(user, remember=False)  # no remember cookie: it would outlive the idle logout
    session[_LAST_SEEN] = utcnow().timestamp()
    return redirect(_safe_next(next_url))


def _refusal(message: str, result: logins.LoginResult) -> str:
    if result.outcome is logins.LoginOutcome.LOCKED:
        return f"{message} Too many attempts; try again in {result.retry_minutes} minutes."
    return message


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


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never bounce a fresh login to another host."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("admin.index")


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)

    @app.get("/")
    def _home() -> Response:
        return redirect(url_for("admin.index"))
