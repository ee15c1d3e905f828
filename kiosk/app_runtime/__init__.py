"""The running kiosk: devices built from settings, their supervisors, and the facade the screens use.

This package and kiosk/bootstrap.py are the only parts of the core that import devices/."""
