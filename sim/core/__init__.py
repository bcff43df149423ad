"""The model's pure core: the county population and (later) its SimPy processes.

Imports only numpy, the standard library and faker's name lists; never ``system``.
"""
