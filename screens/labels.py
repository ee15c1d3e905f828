"""Captions that .kv files translate with root.tr(...): listed here so pybabel extracts them."""
from __future__ import annotations

from kiosk.i18n import N_

KV_CAPTIONS = (
    N_("Back"), N_("Next"), N_("Cancel"), N_("Confirm and pay"), N_("Select all"), N_("Select none"),
    N_("Done"), N_("Try again"), N_("Check again"), N_("Use the keypad"), N_("OK"), N_("Total"),
    N_("Payment method"), N_("Card balance"), N_("Bills due"), N_("Send"), N_("Sign in"),
    N_("Print settlement"), N_("Show settlement"), N_("Put out of service"), N_("Put back in service"),
    N_("Lock"), N_("Exit to desktop"), N_("Refresh"), N_("Devices"), N_("Daily settlement"),
    N_("Items"), N_("Receipt number"), N_("Back to start"), N_("Shift handover"), N_("Callback requests"),
    N_("Manage notices"), N_("Accept"), N_("Return the note"), N_("Receipts"), N_("Import bills"),
    N_("Device setup"), N_("Demo"), N_("Cards"), N_("Take the card off"), N_("Insert a note"),
    N_("Scan the QR code"), N_("New blank card"), N_("Load paper"), N_("Paper runs out"),
    N_("Card repair"), N_("Card states"), N_("Account credit"), N_("Services on and off"),
)
