"""The published registry: a static mkdocs-material site with graphviz lineage."""
