"""WSGI entry point: `hudoor serve` (granian) or `gunicorn -c python:gateway.gunicorn_conf wsgi:app`."""
from gateway.app import create_app

app = create_app()
