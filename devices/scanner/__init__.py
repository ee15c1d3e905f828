"""The payment-code scanner, the fourth device class: a serial (virtual COM port) or HID keyboard-wedge source
of lines, and the driver that turns them into one payment code while a payment waits (docs/payments.md)."""
