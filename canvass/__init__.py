"""The ``canvass`` command line: the front door to every part, with no logic of its own."""
