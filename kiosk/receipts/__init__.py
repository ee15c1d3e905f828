"""Receipt layout: ReceiptDocument -> printable lines for a given paper width; the printer gate."""
