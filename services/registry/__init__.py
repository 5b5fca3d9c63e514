"""Registry service: employers, social secretariats (seats and branches), mandates, batch
senders, API clients and the worker identification register.
"""
