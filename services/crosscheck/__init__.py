"""Crosscheck service: the personnel file (Dimona) cross-checked against DmfA per employer,
worker and quarter.
"""
