"""``python -m canvass``: the same command line as ``canvass``."""

from canvass.cli import main

raise SystemExit(main())
