"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from core.config import ROOT, Config
from core.runtime import Runtime


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the Hudoor web app.

    Args:
        test_config: optional overrides; key "HUDOOR_CONFIG" may hold a ready Config,
            "HUDOOR_RUNTIME" a ready Runtime (tests pass one with their own DB/Redis).
    """
    app = Flask(__name__, template_folder=str(Path(ROOT) / "templates"), static_folder=None)
    test_config = dict(test_config or {})
    runtime = test_config.pop("HUDOOR_RUNTIME", None)
    if runtime is None:
        cfg = test_config.pop("HUDOOR_CONFIG", None) or Config.from_env()
        runtime = Runtime(cfg)
    app.config.update(SECRET_KEY=runtime.config.secret_key, JSON_AS_ASCII=False)
    app.config.update(test_config)
    app.extensions["hudoor"] = runtime

    from gateway import api, api_gate, status, ussd  # noqa: F401  (api_gate adds routes to api.bp)

    app.register_blueprint(api.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(ussd.bp)
    from gateway import devphone

    app.register_blueprint(devphone.bp)
    from digests import views as sms_webhooks

    app.register_blueprint(sms_webhooks.bp)
    return app


def runtime_of(app: Flask) -> Runtime:
    """Return the runtime an app was built with."""
    rt: Runtime = app.extensions["hudoor"]
    return rt
