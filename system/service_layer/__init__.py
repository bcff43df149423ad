"""Use cases of the reference system: one function each, each owning its transaction."""
