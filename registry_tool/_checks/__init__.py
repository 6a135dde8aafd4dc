"""What ``registry-tool check`` verifies on a whole registry or on a change to it.

``run_checks`` is the one entry point (the CLI calls it through ``_verbs.check``)::

    run_checks("my-registry")                                # the working tree
    run_checks("my-registry", base="origin/main", deep=True)  # a change

The rules are written once (``rules``) and applied to a whole tree (``tree``) and to a
change (``diff``); ``deep`` recomputes digests (``deep``); ``report`` has the results.

Every YAML file is parsed strictly and validated against the schema of its kind, and
the documents must agree with each other: a file sits at the path its content names,
versions are numbered from v0 with no gap, every alias and lineage edge names a version
that exists, and each manifest's digest is the digest of its entries. ``registry.yaml``
files must hold no credentials (``registry_tool._secret_scan``). With ``deep``, every
link's source digest is also recomputed from the source version's manifest, and on a
change every version and link of the head is checked, not only the changed ones.

A change (``check --base/--head``, what a pull request would merge) is judged by rules:

- **Versions and links are immutable.** The tool never rewrites a version file: aliases
  live in their own files, and ``Artifact.save()`` refuses to change a logged version's
  metadata or description. So a version file that exists on the base may not change at
  all (a comment or a reformat included), with one exception: a change that only adds
  the soft-delete mark ``deleted`` (``registry-tool delete``), every other field equal
  as parsed. Taking the mark away again is an edit too. Links never change.
- **A promotion does not change its own gates** (the *separate approval* policy). A
  change that moves or removes a protected alias of a model registry may not also
  change that registry's ``stages``, ``protected``, ``types`` or ``gates`` in
  ``registries/<registry>/registry.yaml``; its description may change. Otherwise one
  pull request could lower a gate and pass it, with reviewers approving both at once,
  and the promotion would be checked against the gates it brings itself. A gate or
  protection change is approved on its own: it lands by its own pull request first,
  so it is on the base before any promotion that relies on it, and the promotion is
  then checked against gates that were already approved.
- **Protected aliases move only by pull request**, and stage aliases meet their gates
  and the previous-stage rule.
"""

from registry_tool._checks.report import CheckReport, Problem
from registry_tool._checks.run import run_checks

__all__ = [
    "CheckReport",
    "Problem",
    "run_checks",
]
