"""ASGI entry point: ``uvicorn examples.django_app.asgi:application --workers 3``.

Async views (``api/async/customers/<id>``) call through `AsyncClient`s on the worker's event
loop; sync views still work, run by Django in a thread with the sync `Client`.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
application = get_asgi_application()
