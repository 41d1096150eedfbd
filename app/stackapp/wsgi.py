"""gunicorn's entry point: `gunicorn -c gunicorn.conf.py stackapp.wsgi:app`."""

from . import create_app
from .settings import Settings

app = create_app(Settings.from_env())
