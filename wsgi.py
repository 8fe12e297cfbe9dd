"""gunicorn entry point: `gunicorn wsgi:app`."""

from roshni.app import create_app

app = create_app()
