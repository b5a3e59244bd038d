"""The public-service portal side: its protocol, a simulator that speaks it, and the Excel export.

``openapi.yaml`` is the written protocol (observed shape of the National Public Service Portal's
reporting calls, plus OAuth2 and the CMS post statistics); ``simulator`` serves it from a config
dir's ``monthly.csv`` files with switchable faults; ``excel`` writes and reads the provincial
procedure system's per-period export, the second source of the same counts.
"""
