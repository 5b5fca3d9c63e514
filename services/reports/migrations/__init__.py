"""SQL migrations of the reports schema, applied in file-name order."""
