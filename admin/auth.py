"""Staff login and logout (Flask-Login, argon2 hashes, CSRF via Flask-WTF)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from core.clock import utcnow
from models import StaffUser
from services.staff import authenticate

bp = Blueprint("auth", __name__, template_folder="templates")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.session_protection = "strong"


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    from core.app import get_db

    if not user_id.isdigit():
        return None
    user = get_db().scoped.get(StaffUser, int(user_id))
    return user if user is not None and user.active else None


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    from core.app import get_db

    if current_user.is_authenticated:
        return redirect(url_for("admin.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(get_db().scoped, form.email.data, form.password.data, now=utcnow())
        if user is None:
            flash("That email and password do not match an active account.", "error")
        else:
            session.clear()  # a fresh session at login: no fixation
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


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
