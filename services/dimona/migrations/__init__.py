"""SQL migrations of the dimona schema, applied in file-name order."""
