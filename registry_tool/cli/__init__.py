"""The ``registry-tool`` command line: thin adapters over ``registry_tool._verbs``."""
