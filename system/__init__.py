"""The reference request/consent/transfer service.

Layers, innermost first: ``domain`` (pure rules, no I/O), ``adapters`` (database,
clip stores, clocks), ``service_layer`` (one function per use case, owning its
transaction), and the entrypoints (``api``, ``web``, ``worker``).
"""
