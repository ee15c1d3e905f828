"""Hardware drivers and wire-level simulators; implement kiosk.ports. No Kivy, no SQLAlchemy."""
