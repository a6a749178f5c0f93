"""Thin triggers: parse the request, call one domain function from shared/, map its result."""
