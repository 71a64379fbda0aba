"""Parses Prometheus text format from standard input with prometheus-client's own parser and prints
every family and sample as JSON, so tests read /metrics as Prometheus would. Fails on malformed text.
Run with the python of scripts/test-venv.sh."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = []
for family in text_string_to_metric_families(sys.stdin.read()):
    families.append({
        "name": family.name,
        "type": family.type,
        "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in family.samples],
    })
json.dump({"families": families}, sys.stdout)
