"""The demo estate that `kiosk seed-demo` and `kiosk demo` load."""
