"""The landing page and the health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from journal_web import db_session

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """What this app is, and where to go."""
    return render_template("main/index.html")


@bp.get("/healthz")
def healthz():
    """Liveness and database reachability, for the process runner and monitors."""
    try:
        db_session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return jsonify(status="degraded", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
