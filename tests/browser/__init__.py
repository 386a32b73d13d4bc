"""Browser tests: the journal web app in a real headless Chromium."""
