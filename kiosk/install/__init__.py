"""`kiosk install`: lay a Debian 12 box down as a locked kiosk, idempotently, and check that it still is.

plan.py says what the box must hold (files from templates/, their modes and owners, the system user, the boot
links); lay_down.py makes it so; check.py compares the box with the plan. docs/deploy.md explains each file.
"""
