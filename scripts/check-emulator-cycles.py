#!/usr/bin/env python3
"""Finds import cycles between the emulator's modules (emulator/src).

Reads every `.rs` file below emulator/src, collects the module paths it uses (`use crate::…`,
`use super::…`, `use self::…`, a child module's name, and `crate::…`/`super::…` paths written
inline in code), and resolves each to the deepest module it names. Two graphs are checked:

- top level: the folders and files directly under src (`common`, `storage`, `arm`, …; `lib.rs`
  is `crate`), the layout's promise that a service depends on `common` and nothing else;
- file level: every file module (`storage::dfs::handlers`, …), so no two files need each other.

A module declaring its children (`mod x;`) is not an import; re-exporting them (`pub use
x::Y`) is. Inline `mod tests { use super::*; }` refers to its own file. Prints the top-level
graph, then every cycle found, and exits 1 when there is one (0 otherwise).

Usage: scripts/check-emulator-cycles.py [SRC_DIR]   (default: emulator/src beside this script)
"""

import os
import re
import sys

ROOT_NAME = "crate"


def module_path(src, path):
    """`storage/dfs/mod.rs` -> ('storage', 'dfs'); `lib.rs` -> ()."""
    rel = os.path.relpath(path, src)[: -len(".rs")].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel == ["lib"]:
        rel = []
    return tuple(rel)


def strip_comments_and_strings(text):
    """Blanks out comments, string and char literals so paths inside them are not read."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "r" and re.match(r'r#*"', text[i:]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = re.match(r"r(#*)\"", text[i:]).group(1)
            end = '"' + hashes
            j = text.find(end, i + 2 + len(hashes))
            i = n if j < 0 else j + len(end)
            out.append('""')
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            out.append('""')
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:]):
            i += len(re.match(r"'(\\.[^']*|[^\\'])'", text[i:]).group(0))
            out.append("' '")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_use_tree(tree):
    """`a::{b, c::{d, e}}` -> ['a::b', 'a::c::d', 'a::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    brace = tree.find("{")
    if brace < 0:
        return [re.sub(r"as\w+$", "", tree)] if tree else []
    prefix, inner = tree[:brace], tree[brace + 1 : tree.rfind("}")]
    parts, depth, start = [], 0, 0
    for i, c in enumerate(inner):
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    paths = []
    for part in parts:
        for sub in expand_use_tree(part):
            paths.append(prefix + sub if sub != "self" else prefix.rstrip(":"))
    return paths


TOKEN = re.compile(
    r"(?P<mod>\bmod\s+\w+\s*\{)"
    r"|(?P<use>\buse\s+[^;]+;)"
    r"|(?P<path>\b(?:crate|super|self)(?:\s*::\s*\w+)+)"
    r"|(?P<open>\{)|(?P<close>\})"
)


def imports(text, here, modules):
    """Absolute module paths `here` (a file module) refers to."""
    code = strip_comments_and_strings(text)
    found = []
    stack = []  # True for braces that open an inline module
    for m in TOKEN.finditer(code):
        inline = sum(stack)  # how deep inside inline modules this is
        if m.group("mod"):
            stack.append(True)
        elif m.group("open"):
            stack.append(False)
        elif m.group("close"):
            if stack:
                stack.pop()
        else:
            raw = m.group("use") or m.group("path")
            if m.group("use"):
                raw = re.sub(r"^use\s+", "", raw)[:-1]
                paths = expand_use_tree(raw)
            else:
                paths = [re.sub(r"\s+", "", raw)]
            for p in paths:
                resolved = resolve(p.split("::"), here, inline, modules)
                if resolved is not None:
                    found.append(resolved)
    return found


def resolve(segments, here, inline, modules):
    segments = [s for s in segments if s and s != "*"]
    if not segments:
        return None
    base = list(here)
    head = segments[0]
    if head == "crate":
        base, rest = [], segments[1:]
    elif head in ("super", "self"):
        rest = segments
        # Inside an inline module, `super` first climbs out of it (back to this file).
        depth = inline
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                if depth > 0:
                    depth -= 1
                elif base:
                    base.pop()
            rest = rest[1:]
    elif tuple(base + [head]) in modules:
        rest = segments  # a child module named directly (`use context::Ctx`)
    else:
        return None  # an external crate or std
    path = tuple(base)
    for seg in rest:
        if path + (seg,) in modules:
            path = path + (seg,)
        else:
            break
    return path


def top(path):
    return path[0] if path else ROOT_NAME


def name(path):
    return "::".join(path) if path else ROOT_NAME


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan), each as a sorted list."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def example_cycle(graph, component):
    """One concrete loop through the component, for the message."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    while True:
        nxt = sorted(w for w in graph[path[-1]] if w in members)
        back = [w for w in nxt if w == start]
        if back and len(path) > 1:
            return path + [start]
        fresh = [w for w in nxt if w not in seen]
        if not fresh:
            return path + [nxt[0]]
        path.append(fresh[0])
        seen.add(fresh[0])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "emulator", "src")
    files = {}
    for dirpath, _, names in os.walk(src):
        for n in names:
            if n.endswith(".rs") and not (dirpath == src and n == "main.rs"):
                path = os.path.join(dirpath, n)
                files[module_path(src, path)] = path
    modules = set(files)

    file_graph = {m: set() for m in modules}
    top_graph = {}
    for module, path in files.items():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        top_graph.setdefault(top(module), set())
        for target in imports(text, module, modules):
            if target != module:
                file_graph[module].add(target)
            if top(target) != top(module):
                top_graph[top(module)].add(top(target))

    print("top-level imports:")
    for m in sorted(top_graph):
        print(f"  {m} -> {', '.join(sorted(top_graph[m])) or '(nothing)'}")

    failed = False
    for level, graph, label in (("top-level", top_graph, str), ("file", file_graph, name)):
        found = cycles(graph)
        if not found:
            print(f"{level}: no import cycle ({len(graph)} modules)")
        for component in found:
            failed = True
            loop = example_cycle(graph, component)
            print(
                f"{level} cycle among {', '.join(label(c) for c in component)}: "
                + " -> ".join(label(c) for c in loop)
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
