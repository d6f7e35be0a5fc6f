"""The ``rota`` command line: a thin launcher and operator console over ``rota.App``.

One module per command group; every command only translates its input into an App call and
the result into text or JSON. ``rota.cli.main:main`` is the console script.
"""
