"""Pure data: names and paths, manifests and digests, and the registry's records. No I/O."""
