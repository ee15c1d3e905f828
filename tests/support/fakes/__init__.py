"""In-memory KioskServices for Kivy-free flow tests and the fake-services window (tests only, never shipped)."""
