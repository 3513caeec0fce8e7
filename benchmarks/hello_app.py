"""The ceiling for benchmarks/web.py: a bare Flask app saying "Hello, World!", served by the same gunicorn."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The cheapest response Flask can give."""
    return "Hello, World!"
