"""Batch service: the transfer point of the batch channel: declaration files in, ticket
acknowledgements (ACRF) and notifications (NOTI) out.
"""
