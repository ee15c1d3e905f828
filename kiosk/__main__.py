"""`python -m kiosk` runs the `kiosk` command."""
import sys

from kiosk.cli.main import main

sys.exit(main())
