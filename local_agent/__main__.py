from local_agent.cli import main

raise SystemExit(main())
