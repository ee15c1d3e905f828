"""The chain's canonical JSON is written by hand for speed: it is byte for byte what json.dumps writes, for any
value a protected row can hold, and a journal entry's digest is the same however its values arrive."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from kiosk.persistence import chain_digest as cd

stored = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1), st.text(),
                   st.datetimes(timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8)),
                                                           timezone(timedelta(hours=-5))])),
                   st.dates())


def _reference(value):
    return json.dumps(cd.canonical(value), ensure_ascii=False, separators=(",", ":"))


@given(stored)
def test_json_text_is_what_json_dumps_writes(value):
    assert cd.json_text(value) == _reference(value)


@given(st.lists(stored, max_size=8))
def test_a_row_of_values_is_the_json_array_of_them(values):
    assert cd.values_text(values) == json.dumps([cd.canonical(v) for v in values], ensure_ascii=False,
                                                separators=(",", ":"))


@given(st.integers(1, 10 ** 9), st.datetimes(timezones=st.just(timezone.utc)), st.text(max_size=200),
       st.one_of(st.none(), st.integers(1, 10 ** 6)),
       st.lists(st.tuples(st.integers(1, 10 ** 6), st.integers(-10 ** 12, 10 ** 12)), min_size=1, max_size=4))
def test_an_entry_digest_is_the_same_from_objects_mappings_or_bulk_values(entry_id, at, memo, kiosk_id, lines):
    entry = {"id": entry_id, "created_at": at, "kind": "bill_issued", "memo": memo, "payment_id": None,
             "kiosk_id": kiosk_id, "reverses_entry_id": None}
    line_rows = [{"id": entry_id * 10 + n, "entry_id": entry_id, "account_id": account, "amount_fen": fen}
                 for n, (account, fen) in enumerate(lines)]
    payload = ["v1", "journal_entry", [cd.canonical(entry[f]) for f in cd.FIELDS[cd.JOURNAL_ENTRY]],
               [[cd.canonical(line[f]) for f in cd.LINE_FIELDS] for line in line_rows]]
    expected = hashlib.sha256(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
    assert cd.entry_digest(entry, reversed(line_rows)) == expected  # lines in any order: by id
    bulk = cd.entry_digest_of(cd.values_text([entry[f] for f in cd.FIELDS[cd.JOURNAL_ENTRY]]),
                              [cd.values_text([line[f] for f in cd.LINE_FIELDS]) for line in line_rows])
    assert bulk == expected


def test_times_are_utc_to_the_microsecond_whatever_their_zone():
    shanghai = datetime(2026, 12, 1, 8, 0, 0, 120, tzinfo=timezone(timedelta(hours=8)))
    assert cd.json_text(shanghai) == '"2026-12-01T00:00:00.000120+00:00"' == cd.json_text(shanghai.astimezone(timezone.utc))
    assert cd.json_text(date(2026, 12, 1)) == '"2026-12-01"'


@given(st.integers(1, 10 ** 9), st.datetimes(timezones=st.just(timezone.utc)), st.text(max_size=200),
       st.one_of(st.none(), st.integers(1, 10 ** 6)),
       st.lists(st.tuples(st.integers(1, 10 ** 6), st.integers(-10 ** 12, 10 ** 12)), min_size=2, max_size=4))
def test_entries_written_in_bulk_get_the_digest_their_rows_will_show(entry_id, at, memo, kiosk_id, lines):
    line_rows = [(entry_id * 10 + n, account, fen) for n, (account, fen) in enumerate(lines)]
    [(same_id, bulk)] = cd.bulk_entry_digests(at, "bill_issued", kiosk_id, [(entry_id, memo, line_rows)])
    entry = {"id": entry_id, "created_at": at, "kind": "bill_issued", "memo": memo, "payment_id": None,
             "kiosk_id": kiosk_id, "reverses_entry_id": None}
    read_back = [{"id": i, "entry_id": entry_id, "account_id": a, "amount_fen": f} for i, a, f in line_rows]
    assert same_id == entry_id and bulk == cd.entry_digest(entry, read_back)


@given(st.text(min_size=1, max_size=40), st.integers(1, 10 ** 6), st.lists(
    st.tuples(st.sampled_from(["audit", "receipt", "journal_entry"]), st.integers(1, 10 ** 9), st.integers(1, 9),
              st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)), min_size=1, max_size=5))
def test_links_built_in_a_batch_carry_the_mac_of_each_link_alone(chain, start, items):
    key, at = b"\x05" * 32, datetime(2026, 12, 1, tzinfo=timezone.utc)
    prev = cd.GENESIS_MAC
    for row in cd.link_rows(key, chain, start, cd.GENESIS_MAC, items, at):
        link = dict(zip(cd.LINK_COLUMNS, row))
        assert link["mac"] == cd.link_mac_of(key, link, prev)
        prev = link["mac"]
