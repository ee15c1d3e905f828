"""Wire-level simulators on pseudo-terminals and TCP ports, with fault injection."""
