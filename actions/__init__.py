"""Rasa SDK actions: thin adapters that read the tracker, call bot/, return events."""
# rasa_sdk imports the action server's plugin quietly and carries on without it
# if that import fails, which would leave the server without its key check.
# Importing it here makes such a failure stop the action server instead.
import rasa_sdk_plugins  # noqa: F401
