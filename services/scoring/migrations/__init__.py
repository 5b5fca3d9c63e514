"""SQL migrations of the scoring schema, applied in file-name order."""
