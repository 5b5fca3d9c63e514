"""Domain of the scoring service: plain Python values and rules, no I/O."""
