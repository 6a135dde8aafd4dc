"""The mutation score of each module ``make mutate`` mutated, from mutmut's results.

mutmut 3 keeps each mutated file's verdicts beside its copy, in
``mutants/<path>.py.meta`` (an exit code per mutant). A module's score is the share of
its mutants the tests caught: killed (a test failed) or timed out (a test hung, which
fails a run just as well), over its mutants but two kinds no test is asked about:

- those mypy refuses (strict, as ``make lint`` runs it): such code never passes CI, so
  mutmut does not run the tests on it;
- the equivalent ones, which change the code without changing what it does, so no test
  can tell them apart. Each is listed by name in ``mutate/equivalent.txt`` with the
  reason, so that the list is reviewed like code, and a name that no longer matches a
  mutant is an error rather than a silent exclusion.

    python mutate/score.py [--min 90] [--mutants mutants] [--equivalent mutate/equivalent.txt]

Exit 0 when every module reaches the minimum, 1 when one does not or the equivalent
list is wrong, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mutmut.stats import status_by_exit_code

CAUGHT = ("killed", "timeout")
TYPED = "caught by type check"
COLUMNS = ("killed", "timeout", "mypy", "survived", "no tests", "other", "equivalent")


class ScoreError(Exception):
    """A results folder or an equivalent list that cannot be scored."""


@dataclass
class Module:
    """One mutated module: each mutant's status, and which of them are equivalent."""

    name: str
    status: dict[str, str]
    equivalent: set[str] = field(default_factory=set)

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for mutant, status in self.status.items():
            if mutant in self.equivalent:
                counts["equivalent"] += 1
            elif status == TYPED:
                counts["mypy"] += 1
            elif status in ("killed", "timeout", "survived", "no tests"):
                counts[status] += 1
            else:
                counts["other"] += 1
        return counts

    @property
    def score(self) -> float:
        counts = self.counts()
        judged = len(self.status) - counts["equivalent"] - counts["mypy"]
        caught = sum(counts[c] for c in CAUGHT)
        return 100.0 if judged == 0 else 100.0 * caught / judged

    def missed(self) -> list[str]:
        """The mutants no test caught and nobody judged equivalent, with their status."""
        return [
            f"{mutant} ({status})"
            for mutant, status in sorted(self.status.items(), key=lambda kv: _order(kv[0]))
            if status not in (*CAUGHT, TYPED) and mutant not in self.equivalent
        ]


def _order(mutant: str) -> tuple[str, int]:
    """Mutants of one function in the order mutmut numbers them (2 before 10)."""
    function, _, number = mutant.rpartition("__mutmut_")
    return function, int(number) if number.isdigit() else -1


def read_results(mutants: Path) -> dict[str, Module]:
    """Every module mutmut mutated under ``mutants``, by dotted name."""
    modules: dict[str, Module] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        try:
            codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ScoreError(f"{meta}: not a mutmut results file ({exc})") from None
        if not codes:
            continue
        name = meta.relative_to(mutants).as_posix().removesuffix(".py.meta").replace("/", ".")
        status = {mutant: status_by_exit_code[code] for mutant, code in codes.items()}
        modules[name] = Module(name, status)
    if not modules:
        raise ScoreError(f"{mutants}: no mutmut results (run `mutmut run` first)")
    return modules


def read_equivalent(path: Path, modules: dict[str, Module]) -> None:
    """Mark the mutants ``path`` lists as equivalent: one ``<mutant> <reason>`` a line,
    ``#`` comments and blank lines aside. A mutant that does not exist (the code
    changed and mutmut numbers its mutants anew) or that a test killed is an error."""
    owner = {mutant: module for module in modules.values() for mutant in module.status}
    seen: set[str] = set()
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        mutant, *reason = text.split(None, 1)
        where = f"{path}:{number}: {mutant}"
        if not reason:
            raise ScoreError(f"{where}: give the reason it is equivalent after its name")
        if mutant in seen:
            raise ScoreError(f"{where}: listed twice")
        module = owner.get(mutant)
        if module is None:
            raise ScoreError(
                f"{where}: no such mutant (its function changed: find it again with "
                "`mutmut results` and `mutmut show`, or drop the line)"
            )
        if module.status[mutant] in (*CAUGHT, TYPED):
            raise ScoreError(f"{where}: it was {module.status[mutant]}, so it is not equivalent")
        seen.add(mutant)
        module.equivalent.add(mutant)


def report(modules: dict[str, Module], minimum: float) -> tuple[list[str], bool]:
    """The table, the mutants left alive, and whether every module reaches ``minimum``."""
    width = max(len(name) for name in modules)
    head = f"{'module':<{width}}  {'total':>5}  " + "  ".join(f"{c:>10}" for c in COLUMNS)
    lines = [head + "   score", "-" * (len(head) + 8)]
    total: Counter[str] = Counter()
    mutants = 0
    ok = True
    for name, module in sorted(modules.items()):
        counts = module.counts()
        total.update(counts)
        mutants += len(module.status)
        ok = ok and module.score >= minimum
        row = "  ".join(f"{counts[c]:>10}" for c in COLUMNS)
        mark = "" if module.score >= minimum else f"  < {minimum:g}%"
        lines.append(f"{name:<{width}}  {len(module.status):>5}  {row}  {module.score:5.1f}%{mark}")
    judged = mutants - total["equivalent"] - total["mypy"]
    overall = 100.0 * sum(total[c] for c in CAUGHT) / judged if judged else 100.0
    row = "  ".join(f"{total[c]:>10}" for c in COLUMNS)
    lines.append(f"{'all':<{width}}  {mutants:>5}  {row}  {overall:5.1f}%")
    missed = [
        m for module in sorted(modules.values(), key=lambda m: m.name) for m in module.missed()
    ]
    if missed:
        lines += ["", "Not caught (see each with `mutmut show NAME`):", *(f"  {m}" for m in missed)]
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--min", type=float, default=90.0, help="the lowest score a module may have"
    )
    parser.add_argument("--mutants", type=Path, default=Path("mutants"), help="mutmut's folder")
    parser.add_argument(
        "--equivalent",
        type=Path,
        default=Path(__file__).with_name("equivalent.txt"),
        help="the equivalent mutants, each with its reason",
    )
    args = parser.parse_args(argv)
    try:
        modules = read_results(args.mutants)
        read_equivalent(args.equivalent, modules)
    except ScoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    lines, ok = report(modules, args.min)
    print("\n".join(lines))
    if not ok:
        print(
            f"\nmutation score below {args.min:g}% (killed or timed out, over the mutants "
            "neither mypy refuses nor equivalent.txt lists)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
