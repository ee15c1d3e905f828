"""The estate office's view of the fleet (docs/office.md): each kiosk's heartbeat (heartbeat, status), alert
episodes and their delivery (alerts, notifier), remote actions (actions), and the kiosk's side of all of it, the
fleet agent thread (agent)."""
