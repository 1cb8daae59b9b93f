"""`python -m artifex_keras`: the `artifex-keras` command (see `artifex_keras.cli`)."""

from artifex_keras.cli import main

raise SystemExit(main())
