"""``python -m transfergraph`` runs the command line."""
from transfergraph.cli import main

main()
