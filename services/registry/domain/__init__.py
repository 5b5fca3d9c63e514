"""Domain of the registry service: plain Python values and rules, no I/O."""
