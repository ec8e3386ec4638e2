"""Merge a directory of roster YAML files the way `roster` does, and print it as JSON.

List sections concatenate in file-name order; other keys come from the first file that
declares them. Used only to give check-jsonschema one document to validate.
"""
import json
import pathlib
import sys

from ruamel.yaml import YAML

LISTS = {"roles", "teams", "queues", "users"}
merged = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.y*ml")):
    doc = YAML(typ="safe").load(path.read_text())
    for key, value in doc.items():
        if key in LISTS and key in merged:
            merged[key].extend(value)
        else:
            merged.setdefault(key, value)
json.dump(merged, sys.stdout)
