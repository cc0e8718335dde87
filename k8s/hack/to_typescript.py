#!/usr/bin/python3
"""Turn Kubernetes objects (a JSON array) into a TypeScript module that
assigns each object to its kubernetes-models interface, so that `tsc --strict`
type-checks the manifests: excess-property checks reject unknown fields (a
typo such as `readinesProbe`), and wrong types, enum values and missing
required fields fail too. The interfaces are generated from the Kubernetes
OpenAPI spec (npm kubernetes-models, @kubernetes-models/prometheus-operator).

    to_typescript.py objects.json out.ts
"""
import json
import sys


def module_for(api_version, kind):
    group, version = api_version.split("/") if "/" in api_version else ("", api_version)
    if group == "monitoring.coreos.com":
        return f"@kubernetes-models/prometheus-operator/{group}/{version}/{kind}"
    return f"kubernetes-models/{group + '/' if group else ''}{version}/{kind}"


def main():
    objs = json.load(open(sys.argv[1]))
    imports, body = {}, []
    for i, o in enumerate(objs):
        mod = module_for(o["apiVersion"], o["kind"])
        alias = "T_" + "".join(c if c.isalnum() else "_" for c in mod)
        imports[alias] = (f"I{o['kind']}", mod)
        name = o.get("metadata", {}).get("name", "?")
        body.append(f"// {o['kind']}/{name}\nexport const o{i}: {alias} = {json.dumps(o, indent=1)};")
    head = [f'import {{ {iface} as {alias} }} from "{mod}";' for alias, (iface, mod) in sorted(imports.items())]
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(head + body) + "\n")


if __name__ == "__main__":
    main()
