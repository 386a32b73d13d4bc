"""`python -m journal_web`: serve the app with waitress on WEB_HOST:WEB_PORT."""
import logging
import sys

from waitress import serve

from bot.config.library_warnings import silence_library_deprecations
from bot.config.settings import ConfigError
from journal_web import create_app


def main() -> int:
    """Run the production WSGI server."""
    silence_library_deprecations()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        from bot.storage.runtime import settings

        app = create_app()
        serve(app, host=settings().web_host, port=settings().web_port, threads=8, _quiet=True)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


sys.exit(main())
