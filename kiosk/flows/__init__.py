"""One plain-Python step machine per screen, emitting immutable view states."""
