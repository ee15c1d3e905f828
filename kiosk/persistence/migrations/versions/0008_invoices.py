"""E-invoices: requests (order number stored before sending), their lines, red letters and their lines, the
provider's answers, titles saved per household.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('invoice_titles',
    sa.Column('household_id', ID, nullable=False),
    sa.Column('buyer_kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('tax_id', sa.String(length=18), nullable=False),
    sa.Column('use_count', sa.Integer(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_invoice_titles_household_id_households')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_titles')),
    sa.UniqueConstraint('household_id', 'buyer_kind', 'name', 'tax_id', name=op.f('uq_invoice_titles_household_id_buyer_kind_name_tax_id'))
    )
    op.create_index(op.f('ix_invoice_titles_household_id'), 'invoice_titles', ['household_id'], unique=False)
    op.create_table('invoice_requests',
    sa.Column('site_id', ID, nullable=False),
    sa.Column('order_no', sa.String(length=20), nullable=False),
    sa.Column('receipt_id', ID, nullable=False),
    sa.Column('payment_id', ID, nullable=False),
    sa.Column('household_id', ID, nullable=True),
    sa.Column('kiosk_id', ID, nullable=True),
    sa.Column('buyer_kind', sa.String(length=16), nullable=False),
    sa.Column('buyer_name', sa.String(length=100), nullable=False),
    sa.Column('buyer_tax_id', sa.String(length=18), nullable=False),
    sa.Column('buyer_phone', sa.String(length=20), nullable=False),
    sa.Column('buyer_email', sa.String(length=100), nullable=False),
    sa.Column('total_fen', ID, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.String(length=200), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=80), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reverse_reason', sa.String(length=2), nullable=False),
    sa.Column('reverse_actor', sa.String(length=80), nullable=False),
    sa.Column('serial_no', sa.String(length=40), nullable=False),
    sa.Column('invoice_no', sa.String(length=20), nullable=False),
    sa.Column('qr_payload', sa.String(length=600), nullable=False),
    sa.Column('pdf_url', sa.String(length=500), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.Column('receipt_qr', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_invoice_requests_household_id_households')),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosks.id'], name=op.f('fk_invoice_requests_kiosk_id_kiosks')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_invoice_requests_payment_id_payments')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_invoice_requests_receipt_id_receipts')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_invoice_requests_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_requests')),
    sa.UniqueConstraint('order_no', name=op.f('uq_invoice_requests_order_no'))
    )
    op.create_index(op.f('ix_invoice_requests_created_at'), 'invoice_requests', ['created_at'], unique=False)
    op.create_index(op.f('ix_invoice_requests_household_id'), 'invoice_requests', ['household_id'], unique=False)
    op.create_index(op.f('ix_invoice_requests_invoice_no'), 'invoice_requests', ['invoice_no'], unique=False)
    op.create_index(op.f('ix_invoice_requests_payment_id'), 'invoice_requests', ['payment_id'], unique=False)
    op.create_index(op.f('ix_invoice_requests_receipt_id'), 'invoice_requests', ['receipt_id'], unique=False)
    op.create_index('ix_invoice_requests_state_due', 'invoice_requests', ['state', 'next_attempt_at'], unique=False)
    op.create_table('invoice_lines',
    sa.Column('request_id', ID, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('payment_item_id', ID, nullable=True),
    sa.Column('fee_kind', sa.String(length=32), nullable=False),
    sa.Column('goods_name', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.String(length=40), nullable=False),
    sa.Column('tax_code', sa.String(length=19), nullable=False),
    sa.Column('rate_permille', sa.Integer(), nullable=False),
    sa.Column('policy', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('included_fen', ID, nullable=False),
    sa.Column('excluded_fen', ID, nullable=False),
    sa.Column('tax_fen', ID, nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['payment_item_id'], ['payment_items.id'], name=op.f('fk_invoice_lines_payment_item_id_payment_items')),
    sa.ForeignKeyConstraint(['request_id'], ['invoice_requests.id'], name=op.f('fk_invoice_lines_request_id_invoice_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_lines')),
    sa.UniqueConstraint('request_id', 'position', name=op.f('uq_invoice_lines_request_id_position'))
    )
    op.create_table('invoice_red_letters',
    sa.Column('request_id', ID, nullable=False),
    sa.Column('order_no', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=2), nullable=False),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.Column('void_receipt_id', ID, nullable=True),
    sa.Column('whole', sa.Boolean(), nullable=False),
    sa.Column('total_fen', ID, nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.String(length=200), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=80), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invoice_no', sa.String(length=20), nullable=False),
    sa.Column('qr_payload', sa.String(length=600), nullable=False),
    sa.Column('pdf_url', sa.String(length=500), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['invoice_requests.id'], name=op.f('fk_invoice_red_letters_request_id_invoice_requests')),
    sa.ForeignKeyConstraint(['void_receipt_id'], ['receipts.id'], name=op.f('fk_invoice_red_letters_void_receipt_id_receipts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_red_letters')),
    sa.UniqueConstraint('order_no', name=op.f('uq_invoice_red_letters_order_no'))
    )
    op.create_index(op.f('ix_invoice_red_letters_created_at'), 'invoice_red_letters', ['created_at'], unique=False)
    op.create_index(op.f('ix_invoice_red_letters_request_id'), 'invoice_red_letters', ['request_id'], unique=False)
    op.create_index('ix_invoice_red_letters_state_due', 'invoice_red_letters', ['state', 'next_attempt_at'], unique=False)
    op.create_table('invoice_answers',
    sa.Column('request_id', ID, nullable=False),
    sa.Column('red_letter_id', ID, nullable=True),
    sa.Column('order_no', sa.String(length=20), nullable=False),
    sa.Column('call', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('worker', sa.String(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['red_letter_id'], ['invoice_red_letters.id'], name=op.f('fk_invoice_answers_red_letter_id_invoice_red_letters')),
    sa.ForeignKeyConstraint(['request_id'], ['invoice_requests.id'], name=op.f('fk_invoice_answers_request_id_invoice_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_answers'))
    )
    op.create_index(op.f('ix_invoice_answers_order_no'), 'invoice_answers', ['order_no'], unique=False)
    op.create_index(op.f('ix_invoice_answers_request_id'), 'invoice_answers', ['request_id'], unique=False)
    op.create_table('invoice_red_lines',
    sa.Column('red_letter_id', ID, nullable=False),
    sa.Column('line_id', ID, nullable=False),
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['line_id'], ['invoice_lines.id'], name=op.f('fk_invoice_red_lines_line_id_invoice_lines')),
    sa.ForeignKeyConstraint(['red_letter_id'], ['invoice_red_letters.id'], name=op.f('fk_invoice_red_lines_red_letter_id_invoice_red_letters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invoice_red_lines')),
    sa.UniqueConstraint('red_letter_id', 'line_id', name=op.f('uq_invoice_red_lines_red_letter_id_line_id'))
    )
    op.create_index(op.f('ix_invoice_red_lines_line_id'), 'invoice_red_lines', ['line_id'], unique=False)
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_index(op.f("ix_invoice_red_lines_line_id"), table_name="invoice_red_lines")
    op.drop_table("invoice_red_lines")
    op.drop_index(op.f("ix_invoice_answers_request_id"), table_name="invoice_answers")
    op.drop_index(op.f("ix_invoice_answers_order_no"), table_name="invoice_answers")
    op.drop_table("invoice_answers")
    op.drop_index("ix_invoice_red_letters_state_due", table_name="invoice_red_letters")
    op.drop_index(op.f("ix_invoice_red_letters_request_id"), table_name="invoice_red_letters")
    op.drop_index(op.f("ix_invoice_red_letters_created_at"), table_name="invoice_red_letters")
    op.drop_table("invoice_red_letters")
    op.drop_table("invoice_lines")
    op.drop_index("ix_invoice_requests_state_due", table_name="invoice_requests")
    for column in ("receipt_id", "payment_id", "invoice_no", "household_id", "created_at"):
        op.drop_index(op.f(f"ix_invoice_requests_{column}"), table_name="invoice_requests")
    op.drop_table("invoice_requests")
    op.drop_index(op.f("ix_invoice_titles_household_id"), table_name="invoice_titles")
    op.drop_table("invoice_titles")
