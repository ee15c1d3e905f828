"""The chain head kept in memory by its one writer (docs/fleet.md, "The chain head kept in memory by its one writer").

On PostgreSQL the app, once it holds its kiosk code's lease, calls `keep_head_in_memory(engine, chain)`: the head
read by a transaction or moved by its COMMIT is kept per (engine, chain), with the newest links of rows this process
linked, and the next transaction computes its links from it with no round trip (kiosk.persistence.chain.append).
Transactions of the process are serialised from computing their links to the end of their COMMIT by a lock per
chain (`_hold` / `_let_go`). A COMMIT refused because the head was elsewhere comes back as ChainHeadMoved (E7020,
`_stale_head_error`); the kept head is then dropped and read again.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from kiosk.errors import ChainHeadMoved, ChainWriterBusy

if TYPE_CHECKING:
    from kiosk.persistence.chain import ChainBinding, _Pending

_INFO_KEPT = "kiosk.chain.kept"  # the _KeptHead whose lock this session's transaction holds
_INFO_MOVED = "kiosk.chain.moved"  # the head this transaction's links move it to (kept once the COMMIT succeeded)
_INFO_MOVED_ROWS = "kiosk.chain.moved_rows"  # (kind, id, version, digest) of the rows it links, kept likewise
KEPT_ROWS = 4096  # newest links of rows kept per chain (a card write resolved, a receipt voided: minutes later)
KEPT_HEAD_WAIT_S = 30.0  # how long a transaction waits for another of this process to finish writing the chain
LINK_SEQ_UNIQUE = "uq_chain_links_chain_seq"  # chain_links (chain, seq): a stale head's links clash on it


class EarlyHead(NamedTuple):
    seq: int
    last_mac: str
    key_id: str


@dataclass
class _KeptHead:
    """One chain's head as this process last read or moved it (None: read it at the next commit), and the lock
    that lets one transaction of the process at a time compute links from it and commit them."""

    chain: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    head: EarlyHead | None = None
    rows: OrderedDict[tuple[str, int], tuple[int, str]] = field(default_factory=OrderedDict)  # newest link (v, digest)

    def moved(self, head: EarlyHead | None, rows: Sequence[tuple[str, int, int, str]]) -> None:
        self.head = head
        if head is None:  # a commit that failed or was lost: nothing kept is trusted
            self.rows.clear()
            return
        for kind, row_id, version, digest in rows:
            self.rows[(kind, row_id)] = (version, digest)
            self.rows.move_to_end((kind, row_id))
        while len(self.rows) > KEPT_ROWS:
            self.rows.popitem(last=False)


def _known_links(kept: _KeptHead | None, pending: _Pending,
                 changed: list[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, str]]:
    """The newest link of changed rows this process linked itself, when the row as loaded is still what that link
    says (else it is read: changed since by another writer, or altered). A row another writer linked since with
    the same content would make this transaction's link clash on (kind, row_id, version): refused whole."""
    if kept is None:
        return {}
    out = {}
    for key in changed:
        found = kept.rows.get(key)
        if found is not None and pending.rows[key].before == found[1]:
            out[key] = found
    return out


_kept: weakref.WeakKeyDictionary[Engine, dict[str, _KeptHead]] = weakref.WeakKeyDictionary()
_kept_guard = threading.Lock()


def keep_head_in_memory(engine: Engine, chain: str) -> bool:
    """Let this process keep `chain`'s head in memory on `engine` (PostgreSQL only; SQLite reads it, locally, as
    before). Only for the chain's one writer: the app holding its kiosk code's lease. True if it is kept."""
    if engine.dialect.name != "postgresql":
        return False
    with _kept_guard:
        chains = _kept.get(engine)
        if chains is None:
            chains = _kept[engine] = {}
            event.listen(engine, "handle_error", _stale_head_error)
        chains.setdefault(chain, _KeptHead(chain))
    return True


def kept_head(engine: Engine, chain: str) -> EarlyHead | None:
    """The head kept for `chain` on `engine` (None: not kept, or to be read at the next commit)."""
    found = _kept.get(engine, {}).get(chain)
    return found.head if found is not None else None


def _kept_of(session: Session, binding: ChainBinding) -> _KeptHead | None:
    bind = session.get_bind()
    chains = _kept.get(getattr(bind, "engine", bind))  # a session on a pinned connection: its engine's
    return chains.get(binding.chain) if chains else None


def _hold(session: Session, kept: _KeptHead) -> None:
    """This transaction holds the chain's in-process lock until it ends (after_commit / after_transaction_end)."""
    if session.info.get(_INFO_KEPT) is kept:
        return
    if not kept.lock.acquire(timeout=KEPT_HEAD_WAIT_S):
        raise ChainWriterBusy(f"chain {kept.chain} held by another transaction of this process",
                              seconds=int(KEPT_HEAD_WAIT_S))
    session.info[_INFO_KEPT] = kept


def _let_go(session: Session, head: EarlyHead | None) -> None:
    kept: _KeptHead | None = session.info.pop(_INFO_KEPT, None)
    session.info.pop(_INFO_MOVED, None)
    rows = session.info.pop(_INFO_MOVED_ROWS, ())
    if kept is not None:
        kept.moved(head, rows)
        kept.lock.release()


def _stale_head_error(context: Any) -> BaseException | None:
    """A COMMIT (or the links' statement) refused because the head was not where this process kept it: moved by
    another writer (the first link clashes on chain_links (chain, seq)) or not moved at all (NULL seqs)."""
    diag = getattr(context.original_exception, "diag", None)
    clash = getattr(diag, "constraint_name", None) == LINK_SEQ_UNIQUE
    unmoved = (getattr(context.original_exception, "sqlstate", None) == "23502"
               and getattr(diag, "table_name", None) == "chain_links" and getattr(diag, "column_name", None) == "seq")
    if not (clash or unmoved):
        return None
    why = "the head moved: the next seq is taken" if clash else "the head is not where it was kept"
    return ChainHeadMoved(why)
