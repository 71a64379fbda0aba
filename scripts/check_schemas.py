#!/usr/bin/env python3
"""Validate Backflow projects against the JSON Schemas in schemas/.

    python3 scripts/check_schemas.py [PROJECT_DIR ...]      (default: .)

For each project: backflow.yaml against project.schema.json, syncs/models/**/*.y{a,}ml against
model.schema.json, every other syncs/**/*.y{a,}ml against sync.schema.json. Prints
`path: error at a.b[0]: message` per problem and exits 1, or prints `N files valid` and exits 0.

This checks shape only (keys, types, enums, per-type rules). Cross-file rules (a sync's model and
destination exist, names are unique, `after:` has no cycles) are `backflow validate`'s job.
Needs: pip install jsonschema pyyaml  (jsonschema >= 4.18 for `referencing`).
"""
from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path
from urllib.parse import urldefrag, urljoin

try:
    import yaml
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
except ImportError as e:  # pragma: no cover
    sys.exit(f"check_schemas.py needs jsonschema>=4.18 and pyyaml: {e}")

SCHEMA_DIR = (Path(__file__).resolve().parent / ".." / "schemas").resolve()
KINDS = ("project", "model", "sync")


class UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key repeated in one mapping is an error instead of last-wins,
    and that 7:30 stays the string "7:30" instead of YAML 1.1's base-60 number 450, as Backflow
    and YAML 1.2 editors read it."""


_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
UniqueKeyLoader.add_implicit_resolver(_INT, re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"))
UniqueKeyLoader.add_implicit_resolver(_FLOAT, re.compile(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."))


def _construct_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:  # a complex key; the schema rejects it anyway
            continue
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r} (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


SCHEMAS: dict[str, dict] = {}  # file:// URI -> schema document


def build_validators() -> dict[str, Draft7Validator]:
    """One validator per file kind. The schemas are registered under their file:// URIs, and each
    validator starts from {"$ref": URI}, so the relative `model.schema.json` reference in
    sync.schema.json resolves next to it, as it does in an editor."""
    resources, uris = [], {}
    for kind in KINDS:
        path = SCHEMA_DIR / f"{kind}.schema.json"
        schema = json.loads(path.read_text())
        Draft7Validator.check_schema(schema)
        uris[kind] = path.as_uri()
        SCHEMAS[uris[kind]] = schema
        resources.append((uris[kind], Resource.from_contents(schema)))
    registry = Registry().with_resources(resources)
    return {kind: Draft7Validator({"$ref": uri}, registry=registry) for kind, uri in uris.items()}


def schema_chain(root_uri: str, error) -> list:
    """The schemas from the root down to the one that failed. jsonschema leaves `$ref` hops out of
    schema paths, so a step that is not in the current schema follows its `$ref` first."""
    current, base = {"$ref": root_uri}, ""
    chain = [current]

    def follow(schema, base):
        uri, fragment = urldefrag(urljoin(base, schema["$ref"]))
        target = SCHEMAS[uri]
        for part in filter(None, fragment.split("/")):
            target = target[part]
        return target, uri

    try:
        current, base = follow(current, base)
        chain.append(current)
        for step in error.absolute_schema_path:
            while isinstance(current, dict) and step not in current and "$ref" in current:
                current, base = follow(current, base)
                chain.append(current)
            if step == "$ref":
                continue
            current = current[step]
            chain.append(current)
    except (KeyError, IndexError, TypeError):
        pass
    return chain


def _instance_at(doc, path):
    for part in path:
        doc = doc[part]
    return doc


def format_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(root)"


def _exactly_one_of(schemas) -> list[str] | None:
    """Keys of a oneOf whose branches are all {"required": [key]}, else None."""
    keys = []
    for s in schemas:
        if not (isinstance(s, dict) and set(s) == {"required"} and len(s["required"]) == 1):
            return None
        keys.append(s["required"][0])
    return keys


def _branch_errors(error):
    """For a failed oneOf/anyOf whose branches differ by type, the errors of the one branch whose
    type fits the value (so an inline model with a bad key reports that key, not 'not valid under
    any of the given schemas'). None when no single branch stands out."""
    by_branch: dict[int, list] = {}
    for sub in error.context:
        by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errs for i, errs in by_branch.items()
        if not any(e.validator == "type" and not e.relative_path for e in errs)
    ]
    fitting += [[] for i in range(len(error.validator_value)) if i not in by_branch]
    if len(fitting) == 1 and fitting[0]:
        return fitting[0]
    return None


USES_ERROR_MESSAGE = {"enum", "const", "type", "oneOf", "anyOf", "not", None}  # None: a `false` schema


def messages(error, root_uri, doc):
    """Yield (path, message, validator-location) for one jsonschema error, made readable."""
    path = format_path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    # A per-type value restriction (an enum inside if/then) repeats what a property's own enum says
    # about a misspelt value; report() keeps only the latter.
    per_type = error.validator in ("enum", "const") and any(
        p in ("then", "else") for p in error.absolute_schema_path)
    origin = "per_type" if per_type else "base"
    if error.validator in ("oneOf", "anyOf"):
        keys = _exactly_one_of(error.validator_value)
        if keys is not None and isinstance(error.instance, dict):
            present = [k for k in keys if k in error.instance]
            wanted = ", ".join(f"`{k}`" for k in keys)
            if present:
                found = ", ".join(f"`{k}`" for k in present)
                yield path, f"exactly one of {wanted} is allowed, found {found}", origin
            else:
                yield path, f"exactly one of {wanted} is required", origin
            return
        branch = _branch_errors(error)
        if branch is not None:
            for sub in sorted(branch, key=lambda e: list(map(str, e.absolute_path))):
                yield from messages(sub, root_uri, doc)
            return
    if error.schema is False:
        # A key the chosen `type` does not use. jsonschema reports it at the enclosing object with
        # the `properties` keyword as the schema path; find the key(s) and the `then`'s message.
        chain = schema_chain(root_uri, error)
        props = chain[-1] if isinstance(chain[-1], dict) else {}
        note = next((s["errorMessage"] for s in reversed(chain)
                     if isinstance(s, dict) and "errorMessage" in s), "not allowed here")
        try:
            obj = _instance_at(doc, error.absolute_path)
        except (KeyError, IndexError, TypeError):
            obj = {}
        keys = [k for k, sub in props.items() if sub is False and isinstance(obj, dict) and k in obj
                and obj[k] == error.instance] or ["?"]
        for key in keys:
            yield format_path([*error.absolute_path, key]), f"`{key}`: {note}", origin
    elif error.validator in USES_ERROR_MESSAGE and "errorMessage" in schema:
        yield path, f"{error.instance!r}: {schema['errorMessage']}", origin
    elif error.validator == "pattern" and "patternErrorMessage" in schema:
        yield path, f"{error.instance!r}: {schema['patternErrorMessage']}", origin
    elif error.validator == "dependencies":
        # "timezone": ["cron"]  ->  `timezone` is only used together with `cron`
        for key, needs in error.validator_value.items():
            if key in error.instance and isinstance(needs, list):
                missing = [n for n in needs if n not in error.instance]
                if missing:
                    yield path, f"`{key}` is only used together with " + ", ".join(f"`{m}`" for m in missing), origin
    elif error.validator == "additionalProperties" and schema.get("additionalProperties") is False:
        known = sorted(schema.get("properties", {}))
        extras = sorted(k for k in error.instance if k not in schema.get("properties", {}))
        for key in extras:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"expected one of: {', '.join(known)}"
            yield format_path([*error.absolute_path, key]), f"unknown key `{key}` ({hint})", origin
    else:
        yield path, error.message, origin


def report(validator, root_uri, doc) -> list[tuple[str, str]]:
    """Readable (path, message) pairs, sorted. Where a property's own enum already rejected a value,
    per-type restrictions on the same value (from if/then) are not repeated."""
    found = []
    for err in validator.iter_errors(doc):
        found.extend(messages(err, root_uri, doc))
    base_paths = {p for p, _, origin in found if origin == "base"}
    kept = {(p, m) for p, m, origin in found if origin != "per_type" or p not in base_paths}
    return sorted(kept)


def load_yaml(path: Path):
    with path.open("r", encoding="utf-8") as f:
        return yaml.load(f, Loader=UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass


def project_files(project: Path):
    """(kind, path) for every file of a project, in a stable order."""
    yield "project", project / "backflow.yaml"
    syncs = project / "syncs"
    if not syncs.is_dir():
        return
    files = sorted(p for p in syncs.rglob("*") if p.is_file() and p.suffix in (".yaml", ".yml"))
    models = syncs / "models"
    for p in files:
        yield ("model" if models in p.parents else "sync"), p


def main(argv: list[str]) -> int:
    projects = [Path(a) for a in argv] or [Path(".")]
    validators = build_validators()
    checked = failed = problems = 0
    for project in projects:
        if not project.is_dir():
            print(f"{project}: error at (root): not a directory")
            failed += 1
            problems += 1
            continue
        for kind, path in project_files(project):
            checked += 1
            if not path.is_file():
                print(f"{path}: error at (root): file not found")
                failed += 1
                problems += 1
                continue
            try:
                doc = load_yaml(path)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
                problem = getattr(e, "problem", None) or str(e)
                print(f"{path}: error at (root): invalid YAML{where}: {problem}")
                failed += 1
                problems += 1
                continue
            found = report(validators[kind], (SCHEMA_DIR / f"{kind}.schema.json").as_uri(), doc)
            for where, msg in found:
                print(f"{path}: error at {where}: {msg}")
            if found:
                failed += 1
                problems += len(found)
    if failed:
        print(f"{problems} error(s) in {failed} of {checked} files", file=sys.stderr)
        return 1
    print(f"{checked} files valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
