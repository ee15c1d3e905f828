"""Estate self-service kiosk: the Kivy-free core (domain, services, flows, persistence)."""
