"""Versioned content files (crisis resources, prompts, exercises) and their loaders."""
