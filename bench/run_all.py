"""`make bench`: run every bench/bench_*.py script in turn.

`--quick` (`make bench QUICK=1`) is passed on to the scripts that take it, for a
smoke run with few messages; the others run as usual.
"""
import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    """Run each benchmark; the exit code is the number that failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run where a benchmark offers one")
    args = parser.parse_args(argv)
    failures = 0
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n== {script.name}", flush=True)
        extra = ["--quick"] if args.quick and "--quick" in script.read_text(encoding="utf-8") else []
        failures += subprocess.call([sys.executable, str(script), *extra], cwd=HERE.parent) != 0
    return failures


if __name__ == "__main__":
    sys.exit(main())
