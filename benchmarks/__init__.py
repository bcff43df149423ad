"""Benchmarks of the reference system and the county model: ``canvass bench system``,
``canvass bench api`` and ``canvass bench sim``.

They may import ``system``, ``sim`` and ``scenarios``; only ``canvass`` imports them.
"""
