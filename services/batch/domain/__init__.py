"""Domain of the batch service: plain Python values and rules, no I/O."""
