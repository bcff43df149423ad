"""Locust users, journeys and load shapes against the live system (over HTTP only)."""
