"""A small stand-in for the Azure Functions host that serves the real `function_app.app`.

It reads the app's own function metadata (`app.get_functions()`) and host.json, and adapts HTTP
requests, NCRONTAB timers and Azurite queues to calls of the very same Python functions.
"""
