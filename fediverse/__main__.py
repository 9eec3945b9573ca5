from fediverse.cli import main

raise SystemExit(main())
