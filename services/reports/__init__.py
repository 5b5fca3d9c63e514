"""Reports service: barometer reports: drafts, reactions, motivated answers, final, annual and
global reports.
"""
