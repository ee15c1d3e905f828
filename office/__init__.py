"""The estate office's web console (issue 20): the web face of the same core, as screens/ is the touch face.

No business logic lives here: every page calls kiosk.services and kiosk.fleet; this package only signs staff in,
checks forms (CSRF), renders templates and turns KioskErrors into one translated line (docs/office.md)."""
