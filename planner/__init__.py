"""transfergraph core: transferability metrics, scoring, graph and decisions."""
