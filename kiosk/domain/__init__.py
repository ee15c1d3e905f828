"""Value objects and business rules; no I/O."""
