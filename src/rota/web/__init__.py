"""rota's web layer: the REST API as an ASGI app, and a server to run it (``rota[web]``).

Imported only when used (``app.asgi()``, ``rota serve``), so ``import rota`` never loads a web
framework.
"""

from rota.web.application import asgi

__all__ = ["asgi"]
