"""Text a person typed or a file brought cannot drive the receipt printer: a direct-debit holder name carrying
ESC @ (initialise), GS V (cut) and Kivy-style markup is stored as given and printed as plain characters; the only
commands in the bytes are the kiosk's own (both databases, the real layout, encoder and printer simulator)."""
from __future__ import annotations

from devices.printer.encoder import encode_layout
from kiosk.persistence.db import unit_of_work
from kiosk.receipts.layout import layout_receipt
from kiosk.services import direct_debit, receipts
from tests.printer.helpers import print_bytes

BANKS = {"ICBC": "中国工商银行"}
SECRET = b"site-secret-0123456789abcdef"
HOLDER = "[b]x[/b]\x1b@张三\x1dV\x01\x1bd\x09李"  # ESC @ initialise, GS V 1 cut, ESC d 9 feed


def test_control_bytes_in_a_name_on_a_receipt_print_as_harmless_text(factory, mini):
    with unit_of_work(factory) as s:
        res = direct_debit.sign_up(s, mini.till, household_id=mini.household_ids[0], bank_code="ICBC",
                                   account_number="6222 0212 3456 1234", holder_name=HOLDER, banks=BANKS,
                                   secret=SECRET, language="en")
        doc = receipts.document(receipts.find(s, mini.till.site_id, int(res.receipt_number)))
    assert ("Account holder", HOLDER) in doc.fields  # stored and kept as given
    for charset in ("gb18030", "cp437"):
        data = encode_layout(layout_receipt(doc, 42, charset))
        assert data.count(b"\x1b@") == 1 and data.startswith(b"\x1b@")  # only the kiosk's own initialise
        assert data.count(b"\x1dV") == 1 and data.rstrip(b"\x00").endswith(b"\x1dV")  # only the kiosk's cut
        assert b"\x1bd\x09" not in data
        [printed] = print_bytes(data)
        [line] = [t for t in printed.text_lines() if "[b]x[/b]" in t]
        assert line.startswith("Account holder") and "[b]x[/b] @" in line and "\x1b" not in line
        assert printed.cut and not printed.unknown_commands
