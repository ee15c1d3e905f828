"""`python -m tests.support.hooked_kiosk ARGS`: the `kiosk` command exactly, with the window hook on $KIOSK_TEST_HOOK
(the app benchmark measures `kiosk run` through it)."""
from __future__ import annotations

import sys

from kiosk.cli.main import main
from tests.support.hook_install import install_from_env

if __name__ == "__main__":
    install_from_env()
    sys.exit(main(sys.argv[1:]))
