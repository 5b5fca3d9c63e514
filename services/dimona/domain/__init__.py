"""Domain of the dimona service: plain Python values and rules, no I/O."""
