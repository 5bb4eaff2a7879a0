"""The writes, one module per concern. Every state transition of a call, an operation or a
recording happens in its module here and nowhere else (the tables they follow: `states`).

Callers import the concern's module, never names from it, e.g.
`from recordings.services import recordings as recording_services`.
"""
