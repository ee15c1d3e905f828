"""The CLI's parser can be built again and again in one process (tests, the office's commands run in-process):
each has every command group, and a freed parser's groups go with it. They were kept by the id() of the freed
parser's subcommands, which a later parser could be given: that parser then got the freed one's `db` group and
`kiosk db upgrade` was added to it twice (argparse's "conflicting subparser: upgrade", seen once in a full CI run)."""
from __future__ import annotations

import gc

from kiosk.cli import main as cli


def test_parsers_built_one_after_another_each_have_every_group_and_keep_nothing_of_freed_ones():
    for _ in range(30):
        parser = cli.build_parser()
        for argv in (["db", "upgrade"], ["db", "check"], ["audit", "verify"]):
            assert callable(parser.parse_args(argv).handler), argv
        del parser
    for _ in range(3):  # argparse's parsers are reference cycles: freed by the collector, in more than one pass
        gc.collect()
    assert len(cli._GROUPS) == 0  # nothing of the 30 freed parsers is kept, so no later one can be handed it
