"""Settings of the example shop: rota runs inside the web server, on Django's database."""

from __future__ import annotations

import os

from shop.database import BASE_DIR, database_url, django_database

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = ["rota.integrations.django.RotaConfig"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

DATABASES = {"default": django_database(database_url())}
USE_TZ = True
TIME_ZONE = "UTC"

# The rota App, started in the server's processes (not in migrate, shell, ...).
ROTA = {"APP": "shop.jobs:app", "START": True}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"rota": {"handlers": ["console"], "level": "INFO"}},
}

__all__ = ["BASE_DIR"]
