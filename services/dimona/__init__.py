"""Dimona service: dimona declarations (IN, OUT, UPDATE, CANCEL) over the REST v2 API and the
batch channel, their notifications and the personnel file.
"""
