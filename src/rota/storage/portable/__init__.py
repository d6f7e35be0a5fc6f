"""Storage verbs written once over a ``rota.storage.dialect.Dialect``, one class per concern."""
