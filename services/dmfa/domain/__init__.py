"""Domain of the dmfa service: plain Python values and rules, no I/O."""
