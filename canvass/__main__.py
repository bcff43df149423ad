from canvass.cli import main

raise SystemExit(main())
