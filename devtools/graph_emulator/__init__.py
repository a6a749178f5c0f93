"""A local Microsoft identity platform + Microsoft Graph emulator (dev only, never deployed).

Start it with `GraphEmulator` (server.py) or `python -m devtools.graph_emulator`; see README.md.
"""
