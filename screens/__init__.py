"""Kivy screens: the only package that imports Kivy."""
