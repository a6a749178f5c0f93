"""Dev-only tooling: the local functions host, the Graph emulator, the local stack. Not deployed."""
