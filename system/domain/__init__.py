"""The pure core of the reference system: entities, rules and their errors.

Nothing here performs I/O, imports a framework, or reads the wall clock; the
current time always arrives as an argument (see :mod:`system.domain.clock`).
"""
