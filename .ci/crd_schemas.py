#!/usr/bin/env python3
"""Turn CustomResourceDefinition YAML files into kubeconform JSON schemas.

Usage: crd_schemas.py OUTPUT_DIR CRD_FILE [CRD_FILE ...]

For every served version of every CRD found in the input files this writes
OUTPUT_DIR/<group>/<kind>_<version>.json (kind in lower case), which is the
layout matched by the kubeconform schema location template
    OUTPUT_DIR/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json

The schemas are made "strict": every object node that lists its properties
and sets no additionalProperties gets additionalProperties: false, unless it
carries x-kubernetes-preserve-unknown-fields. CRD schemas contain no $ref, so the
output is stand-alone as it is. Needs PyYAML.
"""

import json
import os
import sys

import yaml


def strict_copy(node):
    """Return a copy of an OpenAPI v3 CRD schema node as JSON Schema (draft 4 style)."""
    if isinstance(node, list):
        return [strict_copy(item) for item in node]
    if not isinstance(node, dict):
        return node

    out = {}
    for key, value in node.items():
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: strict_copy(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, (dict, list)):
            out[key] = strict_copy(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [strict_copy(sub) for sub in value]
        else:
            out[key] = value

    # int-or-string fields (ports, maxUnavailable, ...) accept both types.
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])

    # OpenAPI "nullable" has no JSON Schema keyword: widen the type instead.
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]

    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not preserve
    ):
        out["additionalProperties"] = False
    return out


def schemas_from_crd(crd):
    spec = crd.get("spec") or {}
    group = spec.get("group")
    kind = (spec.get("names") or {}).get("kind")
    if not group or not kind:
        return
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        name = version.get("name")
        schema = ((version.get("schema") or {}).get("openAPIV3Schema")) or {}
        if not name or not schema:
            continue
        root = strict_copy(schema)
        props = root.setdefault("properties", {})
        # Pin apiVersion and kind so a typo in either is reported.
        props["apiVersion"] = {"type": "string", "enum": [f"{group}/{name}"]}
        props["kind"] = {"type": "string", "enum": [kind]}
        props.setdefault("metadata", {"type": "object"})
        root.setdefault("type", "object")
        root["additionalProperties"] = False
        req = root.setdefault("required", [])
        for field in ("apiVersion", "kind"):
            if field not in req:
                req.append(field)
        yield group, kind.lower(), name, root


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    out_dir = argv[1]
    written = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as handle:
            docs = list(yaml.safe_load_all(handle))
        for doc in docs:
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            for group, kind, version, schema in schemas_from_crd(doc):
                target_dir = os.path.join(out_dir, group)
                os.makedirs(target_dir, exist_ok=True)
                target = os.path.join(target_dir, f"{kind}_{version}.json")
                with open(target, "w", encoding="utf-8") as handle:
                    json.dump(schema, handle, indent=1, sort_keys=True)
                    handle.write("\n")
                print(f"  {group}/{version} {kind} -> {os.path.relpath(target, out_dir)}")
                written += 1
    if written == 0:
        sys.stderr.write(
            "crd_schemas.py: no CustomResourceDefinition with an openAPIV3Schema found in "
            + " ".join(argv[2:]) + "\n"
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
