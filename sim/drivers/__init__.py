"""Adapters between the county model and the reference system: the in-process driver,
its invariant checks, seeding's synthetic population and the demo. Only this package
imports ``system``."""
