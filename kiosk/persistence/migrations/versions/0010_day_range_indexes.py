"""Reports touch only their day: indexes for the time ranges settlement, shift handover, the invoice totals and
reconciliation ask for, so that a day's report reads that day's rows and not a year of history.

- payments (kiosk_id, completed_at): settlement and reconciliation (kiosks of the site, one day), the shift
  handover's credit figures (one kiosk, since the last handover);
- receipts (site_id, issued_at): the day's receipt number range and its voids (without it SQLite walks the
  site's every receipt through the (site_id, number) key); receipts (void_receipt_id): from a void receipt of the
  day to the receipt it voids;
- invoice_red_letters (state, issued_at): the red letters issued in the day (settlement's invoice figures);
- journal_entries (kiosk_id, created_at): account credit created and used by the site's kiosks in the day, and a
  kiosk's cash box since the last handover.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""
from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_payments_kiosk_completed", "payments", ["kiosk_id", "completed_at"])
    op.create_index("ix_receipts_site_issued", "receipts", ["site_id", "issued_at"])
    op.create_index("ix_receipts_void_receipt_id", "receipts", ["void_receipt_id"])
    op.create_index("ix_invoice_red_letters_state_issued", "invoice_red_letters", ["state", "issued_at"])
    op.create_index("ix_journal_entries_kiosk_created", "journal_entries", ["kiosk_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_journal_entries_kiosk_created", table_name="journal_entries")
    op.drop_index("ix_invoice_red_letters_state_issued", table_name="invoice_red_letters")
    op.drop_index("ix_receipts_void_receipt_id", table_name="receipts")
    op.drop_index("ix_receipts_site_issued", table_name="receipts")
    op.drop_index("ix_payments_kiosk_completed", table_name="payments")
