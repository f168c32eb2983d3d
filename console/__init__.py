"""Staff console: live handoff queue, conversation review, overview, consultation requests, and
training data from what the assistant did not understand. See console/README.md."""
from pathlib import Path
from typing import Any, Mapping, Optional

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from clinic import settings
from clinic.handoff_store import HandoffStore
from clinic.notifier import LogNotifier
from clinic.rasa_api import rasa_api_from_settings
from clinic.storage import RequestStore
from console import params, security, templating
from console.config import default_config, generated_secret_key
from console.models import ConsoleDb
from console.services import Services
from console.tracker import TrackerStore
from console.views import auth, conversations, improve, overview, queue, requests


def create_app(config: Optional[Mapping[str, Any]] = None) -> Flask:
    """`config` overrides the environment's settings; "RASA_API" may hold a RasaApi to use."""
    app = Flask(__name__)
    app.config.update(default_config())
    app.config.update(config or {})
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = generated_secret_key(Path(app.config["DATA_DIR"]))
    database_url = app.config["DATABASE_URL"]
    app.extensions["console"] = Services(
        db=ConsoleDb(database_url),
        tracker=TrackerStore(app.config["TRACKER_STORE_URL"]),
        handoffs=HandoffStore(database_url),
        # The console never submits requests: the spool and notifier are the store's, unused here.
        requests=RequestStore(database_url, Path(settings.get("BOOKING_SPOOL_PATH")), LogNotifier()),
        rasa=app.config.get("RASA_API") or rasa_api_from_settings(),
    )
    if app.config["PROXIES_COUNT"]:  # the client's address from X-Forwarded-For, as the proxy set it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXIES_COUNT"])
    security.init_app(app)
    app.url_map.converters["row_id"] = params.RowIdConverter  # before the routes that use it
    for module in (auth, overview, queue, conversations, requests, improve):
        app.register_blueprint(module.blueprint)
    templating.init_app(app)
    return app
