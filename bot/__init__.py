"""Core of the KAP integration-support assistant. Imports no Rasa or Flask code."""
