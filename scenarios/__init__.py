"""Scenario files (TOML) for Nassau, Suffolk and variants, their typed loader and validation.

Imports no other project package.
"""
