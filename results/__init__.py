"""Run folders: their contract, statistics, plots and the HTML report.

This package reads and writes files only; it imports no other project package
except ``scenarios`` for names and units.
"""
