"""Run rota embedded in a web application: one small module per framework.

- ``rota.integrations.fastapi``: a lifespan helper and ``mount`` for FastAPI and Starlette.
- ``rota.integrations.flask``: the ``Rota`` extension object for Flask.
- ``rota.integrations.django``: an app config and management commands for Django.

Each module imports its framework, so import the one you use; ``import rota`` imports none.
"""
