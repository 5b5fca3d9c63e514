"""DmfA service: quarterly DmfA declarations, their anomaly checks, corrections, lateness and
silent employers.
"""
