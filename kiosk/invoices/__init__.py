"""E-invoices (数电发票) on the kiosk's side, Kivy-free: the tax table, requests queued durably with the receipt,
the worker that sends them exactly once, red letters for voids, settlement figures and reconciliation.

The provider itself is behind kiosk.ports.InvoiceProvider (devices/ implements it). docs/invoices.md.
"""
