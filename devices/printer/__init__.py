"""Receipt printer: python-escpos connection, ESC/POS rendering, status."""
