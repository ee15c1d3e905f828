"""E-invoice (数电发票) providers: kiosk.ports.InvoiceProvider over a tax provider's open API."""
