"""Entry point of the `kiosk` command: common options, subcommand groups, one-line errors, exit codes."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from weakref import WeakKeyDictionary

from kiosk import private_files
from kiosk.domain import site_clock
from kiosk.errors import (
    AuthError,
    BusinessRuleError,
    CardError,
    ConfigError,
    DeviceError,
    ImportFileError,
    KioskError,
    PaymentError,
    StorageError,
)

# Exit statuses, distinct per kind of failure (documented in README).
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CONFIG = 2  # also argparse usage errors
EXIT_STORAGE = 3
EXIT_DEVICE = 4
EXIT_RULE = 5
EXIT_AUTH = 6
EXIT_CARD = 7
EXIT_PAYMENT = 8
EXIT_BAD_FILE = 9  # an import file with bad rows (nothing imported)
EXIT_INTERRUPTED = 130

_EXIT_BY_ERROR: tuple[tuple[type[KioskError], int], ...] = (
    (ConfigError, EXIT_CONFIG),
    (ImportFileError, EXIT_BAD_FILE),
    (StorageError, EXIT_STORAGE),
    (DeviceError, EXIT_DEVICE),
    (CardError, EXIT_CARD),
    (AuthError, EXIT_AUTH),
    (PaymentError, EXIT_PAYMENT),
    (BusinessRuleError, EXIT_RULE),
)

# Each module has `register(subparsers, common)`; it adds parsers whose `handler` is set with
# set_defaults(handler=fn) where fn(args) -> int.
GROUP_MODULES: tuple[str, ...] = (
    "kiosk.cli.db_cmds",
    "kiosk.cli.seed_cmds",
    "kiosk.cli.app_cmds",
    "kiosk.cli.admin_cmds",
    "kiosk.cli.household_cmds",
    "kiosk.cli.printer_cmds",
    "kiosk.cli.reader_cmds",
    "kiosk.cli.cash_cmds",
    "kiosk.cli.scanner_cmds",
    "kiosk.cli.wechatpay_cmds",
    "kiosk.cli.invoice_cmds",
    "kiosk.cli.tax_cmds",
    "kiosk.cli.alipay_cmds",
    "kiosk.cli.gateway_report_cmds",
    "kiosk.cli.install_cmds",
    "kiosk.cli.doctor_cmds",
    "kiosk.cli.last_resort_cmds",
    "kiosk.cli.upgrade_cmds",
    "kiosk.cli.fleet_cmds",
    "kiosk.cli.office_cmds",
)

Handler = Callable[[argparse.Namespace], int]

# the groups made under each parser's subcommands, for as long as that parser lives: keyed by the object itself, not
# its id(), which a later parser can be given once this one is freed (it was: a later parser then got a group of the
# freed one, and `db upgrade` was added to it twice)
_GROUPS: WeakKeyDictionary[argparse._SubParsersAction, dict[str, argparse._SubParsersAction]] = WeakKeyDictionary()


def subgroup(sub: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str,
             help_text: str) -> argparse._SubParsersAction:
    """The subcommands under `name` (e.g. `kiosk devices ...`), shared by every module that adds to it.

    Several modules add commands under one group (`devices probe reader|printer|cash`,
    `sim reader|printer|cash|gateway`); the first caller creates the group, later ones reuse it.
    """
    groups = _GROUPS.setdefault(sub, {})
    if name not in groups:
        parser = sub.add_parser(name, help=help_text, parents=[common])
        inner = parser.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")
        inner.required = True
        groups[name] = inner
    return groups[name]


def common_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default: $KIOSK_DATA_DIR or ~/.local/share/estate-kiosk)")
    common.add_argument("--config", help="site config TOML (default: $KIOSK_CONFIG)")
    common.add_argument("--db-url", help="database URL, e.g. postgresql+psycopg://user@host/db (default: SQLite in the data dir)")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = common_options()
    parser = argparse.ArgumentParser(prog="kiosk", description="Estate self-service kiosk", parents=[common])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in GROUP_MODULES:
        importlib.import_module(name).register(sub, common)
    return parser


def exit_code_for(error: KioskError) -> int:
    for cls, code in _EXIT_BY_ERROR:
        if isinstance(error, cls):
            return code
    return EXIT_ERROR


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    umask = private_files.use_private_umask()  # whatever the command creates is its user's alone
    try:
        return _main(args)
    finally:
        os.umask(umask)  # for callers that run commands in their own process (tests)


def _main(args: argparse.Namespace) -> int:
    handler = logging.StreamHandler()  # log lines too are stamped on the site's clock, with the offset
    handler.setFormatter(site_clock.LogFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, handlers=[handler])
    try:
        return int(args.handler(args) or 0)
    except KioskError as exc:
        if args.debug:
            raise
        print(f"kiosk: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
