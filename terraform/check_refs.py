#!/usr/bin/python3
"""Static cross-reference check of terraform/ from hcl2json output.

    check_refs.py JSON_DIR TERRAFORM_DIR

JSON_DIR holds one <path with / replaced by __>.json per .tf file, as written
by @cdktf/hcl2json (tests/test_deploy.sh makes them). Without provider plugins
(`terraform init` needs the Terraform registry, which this machine cannot
reach) `terraform validate` cannot run; this checks what it can without them:

  * every var.X, local.X, module.M, data.T.N and resource T.N referenced in a
    directory is declared in that directory;
  * every module call passes only variables the module declares, and every
    module variable without a default is passed;
  * every module.M.O referenced is an output of module M;
  * every variable and output has a description.

Prints one line per problem; exit status 1 if any.
"""
import json
import os
import re
import sys

REF = re.compile(r"\b(var|local|module|data)\.([A-Za-z0-9_-]+)(?:\.([A-Za-z0-9_-]+))?")
RES_REF = re.compile(r"(?<![\w.])((?:aws|random|tls)_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\b")


def load_dir(json_dir, tf_dir, rel):
    """Merge the parsed files of one terraform directory."""
    merged = {}
    texts = []
    prefix = rel.replace("/", "__") + "__" if rel else ""
    for name in sorted(os.listdir(os.path.join(tf_dir, rel) if rel else tf_dir)):
        if not name.endswith(".tf"):
            continue
        with open(os.path.join(json_dir, prefix + name + ".json")) as f:
            doc = json.load(f)
        with open(os.path.join(tf_dir, rel, name)) as f:
            texts.append(strip_comments(f.read()))
        for block, body in doc.items():
            if block in ("resource", "data"):
                for typ, named in body.items():
                    merged.setdefault(block, {}).setdefault(typ, {}).update(named)
            elif block == "locals":
                for entry in body:
                    merged.setdefault("locals", {}).update(entry)
            elif isinstance(body, dict):
                merged.setdefault(block, {}).update(body)
    return merged, "\n".join(texts)


def strip_comments(text):
    out = []
    for line in text.splitlines():
        # good enough for this tree: no '#' or '//' inside strings that matter
        line = re.sub(r"\s(#|//).*$", "", line)
        if line.lstrip().startswith(("#", "//")):
            continue
        out.append(line)
    return "\n".join(out)


def block_of(entries):
    """hcl2json wraps each block body in a one-element list."""
    return entries[0] if isinstance(entries, list) and entries else entries


def check_dir(json_dir, tf_dir, rel, problems, outputs_of):
    where = rel or "terraform"
    d, text = load_dir(json_dir, tf_dir, rel)
    variables = d.get("variable", {})
    outputs = d.get("output", {})
    locals_ = d.get("locals", {})
    modules = d.get("module", {})
    resources = d.get("resource", {})
    datas = d.get("data", {})

    for kind, decls in (("variable", variables), ("output", outputs)):
        for name, body in decls.items():
            if not block_of(body).get("description"):
                problems.append(f"{where}: {kind} {name} has no description")

    for m in REF.finditer(text):
        kind, name, attr = m.groups()
        if kind == "var" and name not in variables:
            problems.append(f"{where}: var.{name} is not declared")
        elif kind == "local" and name not in locals_:
            problems.append(f"{where}: local.{name} is not declared")
        elif kind == "module":
            if name not in modules:
                problems.append(f"{where}: module.{name} is not declared")
            elif attr and attr not in outputs_of.get(name, set()):
                problems.append(f"{where}: module.{name}.{attr} is not an output of the module")
        elif kind == "data" and (name not in datas or (attr and attr not in datas[name])):
            problems.append(f"{where}: data.{name}.{attr} is not declared")
    for m in RES_REF.finditer(text):
        typ, name = m.groups()
        if text[max(0, m.start() - 5):m.start()] == "data.":
            continue
        if name not in resources.get(typ, {}):
            problems.append(f"{where}: {typ}.{name} is not declared")
    return d


def main():
    json_dir, tf_dir = sys.argv[1], sys.argv[2]
    problems = []
    root, _ = load_dir(json_dir, tf_dir, "")
    outputs_of = {}
    module_vars = {}
    for name, body in root.get("module", {}).items():
        src = block_of(body)["source"]
        rel = os.path.normpath(src)
        md, _ = load_dir(json_dir, tf_dir, rel)
        outputs_of[name] = set(md.get("output", {}))
        module_vars[name] = (rel, md.get("variable", {}))
    # modules first (their own references), then the root
    for name, (rel, _) in module_vars.items():
        check_dir(json_dir, tf_dir, rel, problems, {})
    check_dir(json_dir, tf_dir, "", problems, outputs_of)

    meta = {"source", "version", "providers", "depends_on", "count", "for_each"}
    for name, body in root.get("module", {}).items():
        args = set(block_of(body)) - meta
        rel, declared = module_vars[name]
        for a in sorted(args - set(declared)):
            problems.append(f"terraform: module {name} passes {a}, which {rel} does not declare")
        for v, vbody in sorted(declared.items()):
            if "default" not in block_of(vbody) and v not in args:
                problems.append(f"terraform: module {name} does not pass required variable {v}")

    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
