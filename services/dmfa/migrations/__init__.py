"""SQL migrations of the dmfa schema, applied in file-name order."""
