"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core import driver_sql
from core.config import ROOT, Config
from core.runtime import Runtime
from gateway.ussd_wsgi import UssdDispatch


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
    cfg = runtime.config
    cfg.check()  # a Config built by hand (tests, tools) meets the same start-up rules
    app.config.update(SECRET_KEY=cfg.secret_key, JSON_AS_ASCII=False,
                      MAX_CONTENT_LENGTH=cfg.max_body_bytes)  # chunked and multipart bodies too
    app.config.update(test_config)
    app.extensions["hudoor"] = runtime
    # api_gate, api_records, api_assessments, api_tickets, api_bulk and api_support add their
    # routes to api.bp when imported
    from gateway import (api, api_assessments, api_bulk, api_gate, api_records,  # noqa: F401
                         api_support, api_tickets, callbacks, status, ussd)

    app.before_request(callbacks.guard)
    app.before_request(callbacks.body_within_limit)  # after the guard: no token, no reading

    app.register_blueprint(api.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(ussd.bp)
    from gateway import devphone

    app.register_blueprint(devphone.bp)
    from gateway import devsms

    app.register_blueprint(devsms.bp)
    from gateway import sms_webhooks

    app.register_blueprint(sms_webhooks.bp)
    from gateway.console import console_bp

    app.register_blueprint(console_bp)
    # The hop's driver statements (all imported by now), compiled before the first hop (0041).
    driver_sql.compile_all(runtime.engine.dialect)
    # USSD hops are answered below Flask (decision 0036); wrapped here, so the test client,
    # gunicorn and granian all reach the same callable.
    app.wsgi_app = UssdDispatch(app, app.wsgi_app)  # type: ignore[method-assign]
    if cfg.trusted_proxies:
        # Behind N proxies the client is the N-th address from the right of X-Forwarded-For;
        # anything further left was written by the client and is not trusted. Outermost, so
        # the USSD dispatcher's allow-list check sees the forwarded address too.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=cfg.trusted_proxies)  # type: ignore[method-assign]
    return app

