"""The emulator's HTTP surface, a module per surface: Graph (graph.py), Azure AD
(azure_ad.py), media and recordings (media.py), and the emulator's own controls (control.py).

Views stay thin: they parse, check and call services; state changes live in services.py.
The surfaces import nothing from each other (import-linter checks it); what they share is in
common.py.
"""
