"""Kill at every step and power loss: the crash-consistency harness (docs/reliability.md)."""
