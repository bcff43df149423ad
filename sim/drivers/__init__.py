"""Adapters between the county model and the reference system, and the benchmarks that
drive the system with a synthetic county. Only this package imports ``system``."""
