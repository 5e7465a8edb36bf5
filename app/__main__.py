"""`python -m app` starts the server with its embedded defaults."""

import sys

from app.cli import main

if __name__ == "__main__":  # a worker process imports this module again: it must not serve
    sys.exit(main(sys.argv[1:] or ["serve"]))
