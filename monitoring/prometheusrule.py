#!/usr/bin/python3
"""Wrap monitoring/rules/*.yml in a Prometheus Operator PrometheusRule.

    monitoring/prometheusrule.py [NAMESPACE] | kubectl apply -f -

For kube-prometheus-stack: the `release` label must match the Prometheus
resource's ruleSelector (kube-prometheus-stack's default is the Helm release
name). The Helm chart does the same with prometheusRule.enabled.
"""
import glob
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    groups = []
    for path in sorted(glob.glob(os.path.join(HERE, "rules", "*.yml"))):
        with open(path) as f:
            groups.extend(yaml.safe_load(f)["groups"])
    meta = {"name": "streamscore", "labels": {"app.kubernetes.io/part-of": "streamscore",
                                              "release": "kube-prometheus-stack"}}
    if len(sys.argv) > 1:
        meta["namespace"] = sys.argv[1]
    doc = {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
           "metadata": meta, "spec": {"groups": groups}}
    yaml.safe_dump(doc, sys.stdout, sort_keys=False, width=120)


if __name__ == "__main__":
    main()
