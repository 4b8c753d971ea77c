"""The system-call-level checks, each written once as a program of steps (``steps``, ``programs``)."""
