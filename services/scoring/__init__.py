"""Scoring service: quality barometer scores per social-secretariat seat in the six control
domains.
"""
