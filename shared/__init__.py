"""Domain and adapters of the calendar sync. Nothing here imports azure.functions."""
