"""Serving the clinicians: who sees what, timelines, the alert inbox, exports, sign-in and the demo clinic."""
