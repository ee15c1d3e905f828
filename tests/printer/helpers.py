"""Helpers for printer tests: run bytes through the simulator's parser and paper without a socket."""
from __future__ import annotations

from devices.sim.escpos_paper import Paper, PrintedReceipt
from devices.sim.escpos_parser import EscposParser


def print_bytes(data: bytes, chunk: int = 0, **paper_options) -> list[PrintedReceipt]:
    """The receipts a simulated printer produces from `data` (fed in `chunk`-sized pieces when given)."""
    paper = Paper(**paper_options)
    parser = EscposParser()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] if chunk else [data]
    done = []
    for piece in pieces:
        for op in parser.feed(piece):
            receipt = paper.apply(op)
            if receipt is not None:
                done.append(receipt)
    return done
