#!/usr/bin/env python3
"""Every target imports only what Package.swift declares for it, and declares nothing it never imports.

SwiftPM's --explicit-target-dependency-import-check does not report on Linux, where a target can
import any module built before it; this reads `swift package dump-package` and each target's
`import` lines instead. Modules that are neither targets of this package nor products of its
dependencies (Foundation, Glibc, Testing, ...) are the toolchain's and are not checked.
"""
import json
import pathlib
import re
import subprocess
import sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
package = json.loads(subprocess.run(
    ["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True).stdout)

def dependency_name(dependency):
    for kind in ("byName", "target", "product"):
        if kind in dependency:
            return dependency[kind][0]
    raise ValueError(dependency)

targets = {target["name"]: target for target in package["targets"]}
products = {dependency_name(d) for t in package["targets"] for d in t["dependencies"] if "product" in d}
known = set(targets) | products
pattern = re.compile(r"^\s*(?:@testable\s+|@_exported\s+|public\s+|internal\s+|package\s+)?import\s+(?:struct\s+|class\s+|enum\s+|func\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)
problems = []
for name, target in sorted(targets.items()):
    if target["type"] == "system":
        continue
    default = "Tests" if target["type"] == "test" else "Sources"
    directory = root / (target.get("path") or f"{default}/{name}")
    imported = set()
    for source in directory.rglob("*.swift"):
        imported |= set(pattern.findall(source.read_text()))
    imported &= known
    imported.discard(name)
    declared = {dependency_name(d) for d in target["dependencies"]}
    for module in sorted(imported - declared):
        problems.append(f"{name} imports {module}, which Package.swift does not declare for it")
    for module in sorted(declared - imported):
        # A test target may depend on an executable to have it built for its end-to-end tests.
        if module in targets and targets[module]["type"] == "executable":
            continue
        problems.append(f"{name} declares {module} but never imports it")
for problem in problems:
    print(f"Package.swift: error: {problem}")
if problems:
    sys.exit(1)
print(f"imports: {len(targets)} targets import only what they declare")
