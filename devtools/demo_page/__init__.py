"""The demo host web app (dev only): a page that plays the host app with the demo directory."""
