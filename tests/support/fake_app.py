"""`python -m tests.support.fake_app`: the kiosk window on the in-memory FakeKioskServices (e2e tests, app benchmark)."""
from __future__ import annotations

import argparse
import logging
import sys

from kiosk.errors import KioskError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.fake_app", description=__doc__)
    parser.add_argument("--test-hook", default="", help="Unix socket path for the e2e test hook")
    parser.add_argument("--language", default="zh_Hans")
    parser.add_argument("--size", default="1280x800", help="window size WxH")
    parser.add_argument("--closed", action="store_true", help="demo site closed today (out-of-hours mode)")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from tests.support.fakes.data import ALL_DAY, closed_today
    from tests.support.fakes.services import FakeKioskServices
    from screens.app import run_app
    from tests.support.hook_install import install

    width, height = (int(v) for v in args.size.split("x"))
    if args.test_hook:
        install(args.test_hook)
    settings = {"default_language": args.language, "width": width, "height": height}
    try:
        return run_app(FakeKioskServices(hours=closed_today() if args.closed else ALL_DAY), settings)
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
