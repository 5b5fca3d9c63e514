"""SQL migrations of the crosscheck schema, applied in file-name order."""
