"""``rota bench``: rota measured on the user's own database, beside a bare SQL claim loop.

``jobs`` holds the bench's app and its no-op job (its worker processes load them by name),
``workloads`` the measures, ``suite`` the order they run in and the cleanup, ``report`` the
figures and their ratios to the bare loop.
"""
