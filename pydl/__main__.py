from pydl.cli import main

raise SystemExit(main())
