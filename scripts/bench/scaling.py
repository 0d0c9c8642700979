#!/usr/bin/env python3
"""Inputs for scripts/bench-scaling.sh: trees shaped like the fleets that once made changelint
superlinear, each written at a given size. One shape per call:

    scaling.py SHAPE N DIR

Shapes (N is the number of workloads):
  configs       apps/appI/{deploy,config}.yaml: a workload and an agent config beside it
  tenants       tenants/tI/app.yaml: one deployment target per object
  limitranges   before/ and after/nsI/{limitrange,app}.yaml: a memory limit removed in each
                namespace, which has its own LimitRange
  record        before/ and after/: every memory limit raised, and record.md naming each
                workload under Resource Impact
  list-diff     change.diff: a unified diff adding one `kind: List` of N/4 deployments (a
                document stays under the API server's 3 MiB up to N = 40,000)
  exempt        tree/nsI/appI.yaml (one namespace in ten objects) and policy.yaml exempting
                every namespace from limits-missing
  values        before/ and after/valuesJ.yaml: Helm values files of up to 10,000 services
                (a document stays under 3 MiB), each service a resources block; every tenth
                memory limit raised
"""
import os
import sys


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as out:
        out.write(text)


def deployment(name, namespace, memory_limit=None):
    limits = f"\n          limits: {{memory: {memory_limit}}}" if memory_limit else ""
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: {namespace}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: app
        image: registry.example/app:1
        resources:
          requests: {{cpu: 100m, memory: 64Mi}}{limits}
"""


LIMIT_RANGE = """apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
  namespace: {namespace}
spec:
  limits:
  - type: Container
    default: {{cpu: 500m, memory: 512Mi}}
    defaultRequest: {{cpu: 100m, memory: 128Mi}}
"""


def main():
    shape, n, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if shape == "configs":
        for i in range(n):
            write(f"{root}/apps/app{i}/deploy.yaml", deployment(f"app{i}", f"ns{i % 50}", "128Mi"))
            write(f"{root}/apps/app{i}/config.yaml",
                  "agent:\n  resources:\n    memory_limit: 256Mi\n    cpu_request: 100m\n")
    elif shape == "tenants":
        for i in range(n):
            write(f"{root}/tenants/t{i}/app.yaml", deployment(f"app{i}", f"ns{i % 50}", "128Mi"))
    elif shape == "limitranges":
        for side, limit in [("before", "128Mi"), ("after", None)]:
            for i in range(n):
                write(f"{root}/{side}/ns{i}/limitrange.yaml", LIMIT_RANGE.format(namespace=f"ns{i}"))
                write(f"{root}/{side}/ns{i}/app.yaml", deployment(f"app{i}", f"ns{i}", limit))
    elif shape == "record":
        for side, limit in [("before", "128Mi"), ("after", "256Mi")]:
            for i in range(n):
                write(f"{root}/{side}/ns{i % 50}/app{i}.yaml", deployment(f"app{i}", f"ns{i % 50}", limit))
        lines = ["# Raise memory limits", "## Summary", "Raise every app's memory limit.",
                 "## Resource Impact"]
        lines += [f"- app{i}: memory limit 128Mi -> 256Mi (2 pods)" for i in range(n)]
        lines += ["## Rollout", "Canary on one cluster first.", "## Rollback", "Revert the commit."]
        write(f"{root}/record.md", "\n".join(lines) + "\n")
    elif shape == "list-diff":
        items = ["- " + deployment(f"app{i}", f"ns{i % 50}").replace("\n", "\n  ").rstrip()
                 for i in range(max(1, n // 4))]
        added = ("apiVersion: v1\nkind: List\nitems:\n" + "\n".join(items)).split("\n")
        diff = ["diff --git a/list.yaml b/list.yaml", "new file mode 100644", "--- /dev/null",
                "+++ b/list.yaml", f"@@ -0,0 +1,{len(added)} @@"] + ["+" + line for line in added]
        write(f"{root}/change.diff", "\n".join(diff) + "\n")
    elif shape == "exempt":
        namespaces = max(1, n // 10)
        for i in range(n):
            write(f"{root}/tree/ns{i % namespaces}/app{i}.yaml", deployment(f"app{i}", f"ns{i % namespaces}"))
        policy = ["exemptions:", "  namespaces:"]
        policy += [f"    ns{j}: [limits-missing]" for j in range(namespaces)]
        write(f"{root}/policy.yaml", "\n".join(policy) + "\n")
    elif shape == "values":
        per_file = 10_000
        for side in ("before", "after"):
            for first in range(0, n, per_file):
                blocks = []
                for i in range(first, min(n, first + per_file)):
                    memory = "256Mi" if side == "after" and i % 10 == 0 else "128Mi"
                    blocks.append(f"service{i}:\n  image: registry.example/service{i}:1\n"
                                  f"  resources:\n    requests: {{cpu: 50m, memory: 64Mi}}\n"
                                  f"    limits: {{memory: {memory}}}\n")
                write(f"{root}/{side}/values{first // per_file}.yaml", "".join(blocks))
    else:
        sys.exit(f"scaling.py: unknown shape {shape!r}")


if __name__ == "__main__":
    main()
