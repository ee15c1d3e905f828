"""The Kivy touchscreen app: the only package that imports Kivy. Start it with screens.app.run_app."""
