"""Use cases (Kivy-free): each takes a unit of work and returns plain results."""
