#!/usr/bin/env python3
"""Fails when a script that CI runs calls a program a new machine may not have.

CI runs `bash .ci/run` on a clean clone on a machine that may be new: one with the .NET SDK,
Rust, gcc, valgrind, Node, Python 3 and the Debian base (coreutils, curl, git, openssl,
binutils, procps, xz), but not the extra tools a long-lived development machine collects
(unzip, jq, xxd, ...). A script that calls one of those passes here and fails there, as
scripts/pack-dotnet.sh once did with `unzip`. A program is fine when scripts/setup.sh installs
it (its `missing+=(name)` list). Use python3 (stdlib only) for what such a tool would do.

Usage: python3 scripts/check-ci-tools.py   (a stage of scripts/test.sh)
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

# Programs seen on development machines of this kind but not on a new one (Debian packages
# installed after the base image: unzip, zip, jq, yq, xxd, wget, lsof, iproute2, net-tools,
# tmux, pkg-config), and tools never installed by default.
NOT_ON_A_NEW_MACHINE = [
    "unzip", "zip", "jq", "yq", "xxd", "wget", "lsof", "ss", "ip", "netstat", "tmux",
    "pkg-config", "hyperfine", "strace", "zstd", "sqlite3", "nc", "socat", "debootstrap",
    "wine", "qemu-aarch64", "tinyproxy", "squid",
    # GNU time (Debian's "time" package; bash's own `time` keyword is fine), perf.
    "/usr/bin/time", "perf",
]

# What CI runs: its entry point, the scripts the test command calls, the C test drivers, the
# Pester tests (which call programs with `& name`), the benchmark that is a check (instruction
# ceilings) and the benchmarks (scripts/bench-smoke.sh runs each at a smoke size).
CI_FILES = ["scripts/*.sh", "scripts/lib/*.sh", "tests/c/*.sh", "powershell/tests/*.ps1",
            "bench/*.sh", "bench/lib/*.sh", "bench/powershell/*.sh", "bench/powershell/*.ps1"]


def installed_by_setup():
    text = (ROOT / "scripts" / "setup.sh").read_text()
    return set(re.findall(r"missing\+=\(([\w.+-]+)\)", text))


def code_lines(path):
    """The file's lines without comments (a line's '#' part when '#' starts a word)."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = re.sub(r"(^|\s)#.*$", "", line)
        if path.suffix == ".ps1":
            stripped = re.sub(r"<#.*?#>", "", stripped)
        yield number, stripped


def calls(line, tool, powershell):
    # In command position: at the start, after a pipe, ;, &&, ||, !, $( or a keyword, or
    # (PowerShell) after the call operator &.
    lead = r"(?:^|[|;(]|&&|\$\(|\bthen|\bdo|\bif|\belse|!|`)\s*"
    if powershell:
        lead = r"(?:^|[|;{(]|&)\s*"
    return re.search(lead + re.escape(tool) + r"(?=\s|$|\))", line) is not None


def main():
    allowed = installed_by_setup()
    files = [ROOT / ".ci" / "run"]
    for pattern in CI_FILES:
        files += sorted(ROOT.glob(pattern))
    problems = []
    for path in files:
        powershell = path.suffix == ".ps1"
        for number, line in code_lines(path):
            for tool in NOT_ON_A_NEW_MACHINE:
                if tool not in allowed and calls(line, tool, powershell):
                    problems.append(f"{path.relative_to(ROOT)}:{number}: calls '{tool}', "
                                    "which a new CI machine may not have; use python3 or "
                                    "install it in scripts/setup.sh")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print(f"check-ci-tools: {len(files)} files call no program a new machine may lack "
          f"(setup.sh installs: {', '.join(sorted(allowed)) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
