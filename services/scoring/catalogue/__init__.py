"""The indicator catalogue shipped with the service (``default.yaml``: barometer.md §3–§5)."""
