"""SQL migrations of the registry schema, applied in file-name order."""
