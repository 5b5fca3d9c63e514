"""Domain of the reports service: plain Python values and rules, no I/O."""
