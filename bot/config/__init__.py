"""Configuration: every setting the system reads, and the signing key, read once per process."""
