"""The floor: a bare Flask handler that only answers `CON hello`, served the same way."""

from flask import Flask, Response

app = Flask(__name__)


@app.post("/at/ussd")
def ussd() -> Response:
    """Answer every hop with the same screen."""
    return Response("CON hello", mimetype="text/plain")
