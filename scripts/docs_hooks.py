"""mkdocs hooks (see mkdocs.yml): pages made from files outside docs/, and links that leave it.

- ``index.md`` is README.md, its links made relative to docs/ (``docs/X.md`` -> ``X.md``).
- ``tutorial.md`` is docs/tutorial.ipynb as a page (markdown cells as they are, code cells as
  Python blocks); the notebook itself is published beside it for download.
- ``glossary.md`` is a short page pointing to the definitions while docs/glossary.md is missing.
- A link or image to a file of the repository outside docs/ (a benchmark figure, LICENSE) is
  published under ``repository/`` and the link points there; a link to a folder becomes text.
  Links that point nowhere are left alone, for ``mkdocs build --strict`` to report.
- Heading anchors are made as GitHub makes them, so that one link works on both.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
PUBLISHED = "repository"


def github_slug(value: str, separator: str = "-") -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces -> '-'."""
    value = re.sub(r"<[^>]+>", "", value).strip().lower()
    return re.sub(r"[^\w\- ]", "", value).replace(" ", separator)


def notebook_page(notebook: dict[str, Any]) -> str:
    """A notebook as markdown: its markdown cells, and its code cells as Python blocks."""
    parts = [
        "*This page is the notebook [`tutorial.ipynb`](tutorial.ipynb) (in the repository: "
        "`docs/tutorial.ipynb`): open it in Jupyter to run it.*",
    ]
    for cell in notebook["cells"]:
        source = "".join(cell["source"]).strip()
        if cell["cell_type"] == "markdown" and source:
            parts.append(source)
        elif cell["cell_type"] == "code" and source:
            parts.append(f"```python\n{source}\n```")
    return "\n\n".join(parts) + "\n"


GLOSSARY_STUB = """# Glossary

Every metric is defined, with its unit, in [Outputs](outputs.md), and every state in the
[ODD protocol](ODD.md).
"""


def source_dir(page_uri: str, docs: Path) -> Path:
    """The folder a page's relative links start from (the repository root for the README)."""
    return ROOT if page_uri == "index.md" else (docs / page_uri).parent


def outside_target(target: str, base: Path, docs: Path) -> Path | None:
    """The repository path a relative link reaches outside docs/ (None if inside or external)."""
    if re.match(r"[a-z]+:|#|/", target):
        return None
    path = Path(os.path.normpath(base / target.split("#")[0]))
    if path == docs or docs in path.parents or not path.exists():
        return None
    return path if ROOT in path.parents else None


def on_config(config: Any) -> Any:
    """GitHub's heading anchors."""
    config.mdx_configs.setdefault("toc", {})["slugify"] = github_slug
    return config


def on_files(files: Files, config: Any) -> Files:
    """Add the generated pages, and the repository files that pages link to."""
    docs = Path(config["docs_dir"]).resolve()
    readme = (ROOT / "README.md").read_text("utf-8").replace("](docs/", "](")
    pages = {"index.md": readme}
    notebook = docs / "tutorial.ipynb"
    if notebook.is_file():
        pages["tutorial.md"] = notebook_page(json.loads(notebook.read_text("utf-8")))
    if not (docs / "glossary.md").is_file():
        pages["glossary.md"] = GLOSSARY_STUB
    for name, content in pages.items():
        if files.get_file_from_path(name) is None:
            files.append(File.generated(config, name, content=content))
    sources = {f.src_uri: f.content_string for f in files if f.src_uri.endswith(".md")}
    for uri, text in sources.items():
        for _, _, target in LINK.findall(text):
            path = outside_target(target, source_dir(uri, docs), docs)
            if path is not None and path.is_file():
                published = f"{PUBLISHED}/{path.relative_to(ROOT).as_posix()}"
                if files.get_file_from_path(published) is None:
                    files.append(File.generated(config, published, abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Point links that leave docs/ at the published copies; folders become text."""
    docs = Path(config["docs_dir"]).resolve()
    base = source_dir(page.file.src_uri, docs)

    def relink(m: re.Match[str]) -> str:
        bang, text, target = m.groups()
        path = Path(os.path.normpath(base / target.split("#")[0]))
        if path.is_dir() and not re.match(r"[a-z]+:|#", target):
            return f"{text} (the folder `{path.relative_to(ROOT).as_posix()}/` in the repository)"
        outside = outside_target(target, base, docs)
        if outside is None:
            return m.group(0)
        published = docs / PUBLISHED / outside.relative_to(ROOT)
        page_dir = (docs / page.file.src_uri).parent
        return f"{bang}[{text}]({Path(os.path.relpath(published, page_dir)).as_posix()})"

    return LINK.sub(relink, markdown)
