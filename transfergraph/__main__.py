"""``python -m transfergraph`` runs the command line."""
from .cli import main

main()
