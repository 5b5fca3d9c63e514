"""Domain of the crosscheck service: plain Python values and rules, no I/O."""
