from zo_sweep.train.cli import main

raise SystemExit(main())
