"""MkDocs hook: renders the OpenAPI document shipped in the package
(``pleasurestock_async/openapi.json``) into the site's OpenAPI page, and ships the document
itself beside it for download. The page is generated at every build, so it never drifts from
the contract the sandbox serves and the tests check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

DOCUMENT = Path(__file__).resolve().parents[2] / "pleasurestock_async" / "openapi.json"
MARKER = "<!-- the operations of openapi.json -->"
METHODS = ("get", "post", "put", "patch", "delete")


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Ship ``openapi.json`` in the site, next to the page."""
    files.append(File.generated(config, "openapi.json", abs_src_path=str(DOCUMENT)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri != "openapi.md":
        return markdown
    return markdown.replace(MARKER, render(json.loads(DOCUMENT.read_text(encoding="utf-8"))))


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return f"`{schema['$ref'].rsplit('/', 1)[-1]}`"
    if "oneOf" in schema or "anyOf" in schema:
        return " or ".join(_type(s) for s in schema.get("oneOf", schema.get("anyOf", [])))
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " / ".join(f"`{value}`" for value in schema["enum"])
    return f"`{kind}`" if isinstance(kind, str) else " or ".join(f"`{k}`" for k in kind)


def _operation(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    lines = [f"### `{method.upper()} {path}`", ""]
    if operation.get("summary"):
        lines += [_cell(operation["summary"]), ""]
    facts = []
    if operation.get("x-api"):
        facts.append(f"API: {operation['x-api']}")
    if operation.get("x-rate-limit-buckets"):
        facts.append("rate buckets: " + ", ".join(operation["x-rate-limit-buckets"]))
    if facts:
        lines += ["; ".join(facts) + ".", ""]
    if operation.get("description"):
        lines += [operation["description"].strip(), ""]
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | type | description |", "|---|---|---|---|---|"]
        for p in parameters:
            lines.append(
                f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
                f"| {_type(p.get('schema', {}))} | {_cell(p.get('description', ''))} |"
            )
        lines.append("")
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        lines += [f"Request body: {_type(body.get('schema', {}))}.", ""]
    lines += ["| status | answer |", "|---|---|"]
    for status, answer in operation.get("responses", {}).items():
        lines.append(f"| {status} | {_cell(answer.get('description', ''))} |")
    return [*lines, ""]


def render(document: dict[str, Any]) -> str:
    """The operations of ``document``, grouped by tag, then its schemas' names."""
    info = document["info"]
    lines = [f"**{info['title']}**, version {info['version']}.", "", info["description"], ""]
    lines += ["Servers:", ""]
    lines += [f"- `{s['url']}`: {s.get('description', '')}" for s in document.get("servers", [])]
    lines.append("")
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append((path, method, item[method]))
    described = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
    for tag, operations in by_tag.items():
        lines += [f"## {tag}", ""]
        if described.get(tag):
            lines += [described[tag], ""]
        for path, method, operation in operations:
            lines += _operation(path, method, operation)
    for name, event in document.get("webhooks", {}).items():
        lines += [f"## Webhook `{name}`", ""]
        for method in METHODS:
            if method in event:
                lines += _operation(name, method, event[method])
    schemas = sorted(document.get("components", {}).get("schemas", {}))
    lines += ["## Schemas", "", ", ".join(f"`{name}`" for name in schemas), ""]
    return "\n".join(lines)
