#!/usr/bin/python3
"""Turn the Grafana dashboards into a TypeScript module typed with
@grafana/schema's Dashboard interface (generated from Grafana's CUE schema),
so that `tsc --strict` rejects unknown or misspelt fields, wrong types and
missing required fields (gridPos, targets, fieldConfig, templating, ...).

    to_typescript.py OUT.ts DASHBOARD.json...

String enums are the one translation: TypeScript does not accept the string
"absolute" where the enum ThresholdsMode is declared, so threshold modes are
written as ThresholdsMode members.
"""
import json
import re
import sys

ENUM = re.compile(r'("thresholds": \{\s*"mode": )"(absolute|percentage)"')


def main():
    out, paths = sys.argv[1], sys.argv[2:]
    body = ['import { Dashboard, ThresholdsMode } from "@grafana/schema";']
    for i, path in enumerate(paths):
        with open(path) as f:
            text = json.dumps(json.load(f), indent=1, sort_keys=True)
        text = ENUM.sub(lambda m: m.group(1) + "ThresholdsMode." + m.group(2).capitalize(), text)
        body.append(f"// {path}\nexport const d{i}: Dashboard = {text};")
    with open(out, "w") as f:
        f.write("\n".join(body) + "\n")


if __name__ == "__main__":
    main()
