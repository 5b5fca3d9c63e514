"""SQL migrations of the batch schema, applied in file-name order."""
