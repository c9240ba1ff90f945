#!/usr/bin/env python3
"""Mutation testing: plants one plausible bug at a time in the library and checks that the suite
notices (a test fails or times out). Each mutant in mutants.json names a file, a piece of code
that must occur exactly once in it, what replaces it, and the Catch2 test spec to run.

usage: tests/mutation/run.py [--build-dir build/dev] [--only ID ...] [--timeout 300]

The build directory must be configured already (e.g. `cmake --preset dev`). Every file is put back
as it was, even when the run is interrupted; the last step rebuilds the unmutated code. Prints one
line per mutant (killed, SURVIVED, stale: the code to mutate is no longer there, or stillborn: the
mutant does not compile) and the score. Exit status 1 when a mutant survived or is stale.
"""
import argparse
import json
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def build(build_dir):
    return subprocess.run(["cmake", "--build", str(build_dir), "--parallel", "2", "--target", "ssw_tests"],
                          cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def run_tests(build_dir, spec, timeout):
    try:
        result = subprocess.run([str(build_dir / "tests" / "ssw_tests"), spec], cwd=build_dir / "tests",
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed (timeout)"
    return "killed" if result.returncode != 0 else "SURVIVED"


def main():
    # SIGTERM ends the run like Ctrl-C: the `finally` below puts the mutated file back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", default="build/dev")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    build_dir = (ROOT / args.build_dir).resolve()
    mutants = json.loads((pathlib.Path(__file__).parent / "mutants.json").read_text())
    if args.only:
        mutants = [m for m in mutants if m["id"] in args.only]

    results = []
    for mutant in mutants:
        path = ROOT / mutant["file"]
        original = path.read_text()
        if original.count(mutant["find"]) != 1:
            results.append((mutant, "stale", 0.0))
            print(f"{mutant['id']:<28} stale: the code to mutate occurs {original.count(mutant['find'])} times",
                  flush=True)
            continue
        started = time.monotonic()
        try:
            path.write_text(original.replace(mutant["find"], mutant["replace"]))
            verdict = run_tests(build_dir, mutant["tests"], args.timeout) if build(build_dir) else "stillborn"
        finally:
            path.write_text(original)
        seconds = time.monotonic() - started
        results.append((mutant, verdict, seconds))
        print(f"{mutant['id']:<28} {verdict:<17} {seconds:6.1f} s  {mutant['bug']}", flush=True)
    build(build_dir)

    counted = [r for r in results if r[1] != "stillborn"]
    killed = sum(1 for r in counted if r[1].startswith("killed"))
    print(f"mutation score: {killed} of {len(counted)} killed"
          f" ({sum(1 for r in results if r[1] == 'stillborn')} stillborn)")
    return 0 if killed == len(counted) else 1


if __name__ == "__main__":
    sys.exit(main())
