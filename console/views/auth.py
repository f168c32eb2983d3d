"""Sign-in and sign-out. A failed sign-in never says whether the user exists; an address refused for
its many failures is told so (it says nothing about any account)."""
from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from console.accounts import MAX_PASSWORD_LENGTH, MAX_USERNAME_LENGTH, SignIn, Throttle, authenticate, end_sessions
from console.security import local_path
from console.services import services

blueprint = Blueprint("auth", __name__)
SIGN_IN_FAILED = "Sign-in failed. Check your user name and password, or try again later."


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    next_page = local_path(request.args.get("next", ""), url_for("overview.index"))
    if current_user.is_authenticated:
        return redirect(next_page)
    if request.method == "GET":
        return render_template("login.html")
    username, password = request.form.get("username", ""), request.form.get("password", "")
    too_long = len(username) > MAX_USERNAME_LENGTH or len(password) > MAX_PASSWORD_LENGTH
    config = current_app.config
    throttle = Throttle(config["ADDRESS_LOCKOUT_ATTEMPTS"], config["LOCKOUT_ATTEMPTS"],
                        timedelta(minutes=config["LOCKOUT_MINUTES"]))
    address = request.remote_addr or "unknown"
    result = SignIn() if too_long else authenticate(services().db, username, password, address, throttle)
    if result.address_locked:
        minutes = max(1, round(config["LOCKOUT_MINUTES"]))
        flash(f"Too many failed sign-ins from this network. Try again in {minutes} minutes.", "error")
        return render_template("login.html", username=username[:MAX_USERNAME_LENGTH]), 429
    if result.user is None:
        flash(SIGN_IN_FAILED, "error")
        return render_template("login.html", username=username[:MAX_USERNAME_LENGTH]), 401
    session.clear()  # a new session for the signed-in user (no fixation)
    login_user(result.user)
    session.permanent = True
    return redirect(next_page)


@blueprint.route("/logout", methods=["POST"])
def logout():
    """Ends every session of the user (a copied cookie too), not only this browser's."""
    end_sessions(services().db, current_user.id)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))
