"""The HTTP API of the reference system: build it with :func:`system.api.app.create_app`."""
