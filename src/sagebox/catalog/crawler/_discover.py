"""Find the datasets under a prefix: one per folder of data files, with its Hive partitions.

A folder is a dataset when it holds data files directly or Hive partition folders
(``key=value/``); its other sub-folders are searched for datasets of their own. A folder
holding neither is only searched. Partition folders must nest the same keys in the same order
everywhere in a dataset; files that break the pattern are left out, with a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sagebox.backends.storage.hive import partition_values

if TYPE_CHECKING:
    from sagebox.backends.storage.base import ObjectInfo

__all__ = ["Dataset", "discover", "table_name_for"]

_PARTITION = re.compile(r"[^=/]+=[^/]*")


@dataclass
class Dataset:
    """One dataset folder: its files, partition keys and the files of each partition.

    ``folder`` is relative to the crawl root (``""`` for the root itself).
    """

    folder: str
    files: list[ObjectInfo] = field(default_factory=list)
    partition_keys: list[str] = field(default_factory=list)
    partitions: dict[tuple[str | None, ...], list[ObjectInfo]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Total bytes of the dataset's files."""
        return sum(f.size for f in self.files)


@dataclass
class _Node:
    files: list[ObjectInfo] = field(default_factory=list)
    children: dict[str, _Node] = field(default_factory=dict)

    def walk_files(self) -> list[ObjectInfo]:
        out = list(self.files)
        for child in self.children.values():
            out.extend(child.walk_files())
        return out


def discover(infos: list[ObjectInfo], root: str) -> list[Dataset]:
    """Group the data objects under store key ``root`` into datasets.

    Args:
        infos: visible data objects (bookkeeping files already left out).
        root: the crawl root's key in the store (``""`` for the store's root).
    """
    prefix = f"{root.rstrip('/')}/" if root.strip("/") else ""
    tree = _Node()
    for info in infos:
        parts = info.key[len(prefix) :].split("/")
        node = tree
        for part in parts[:-1]:
            node = node.children.setdefault(part, _Node())
        node.files.append(info)
    datasets: list[Dataset] = []
    _visit(tree, [], datasets, prefix)
    return datasets


def _visit(node: _Node, parts: list[str], out: list[Dataset], prefix: str) -> None:
    partitioned = {n: c for n, c in node.children.items() if _PARTITION.fullmatch(n)}
    others = {n: c for n, c in node.children.items() if n not in partitioned}
    if node.files or partitioned:
        out.append(_dataset(node, partitioned, parts, prefix))
    for name, child in sorted(others.items()):
        _visit(child, [*parts, name], out, prefix)


def _dataset(node: _Node, partitioned: dict[str, _Node], parts: list[str], prefix: str) -> Dataset:
    folder = "/".join(parts)
    dataset = Dataset(folder)
    if not partitioned:
        dataset.files = list(node.files)
        return dataset
    base = f"{prefix}{folder}/" if folder else prefix
    found: dict[tuple[str, ...], list[tuple[tuple[str | None, ...], ObjectInfo]]] = {}
    for child in partitioned.values():
        for info in child.walk_files():
            pairs = partition_values(info.key[len(base) :])
            keys = tuple(k for k, _ in pairs)
            found.setdefault(keys, []).append((tuple(v for _, v in pairs), info))
    layout = max(found, key=lambda keys: (len(found[keys]), len(keys)))
    dataset.partition_keys = list(layout)
    for values, info in found[layout]:
        dataset.partitions.setdefault(values, []).append(info)
        dataset.files.append(info)
    ignored = sum(len(v) for k, v in found.items() if k != layout)
    if ignored:
        dataset.warnings.append(
            f"{ignored} file(s) in partition folders other than {'/'.join(layout)} were left out"
        )
    if node.files:
        dataset.warnings.append(
            f"{len(node.files)} file(s) beside the partition folders of {folder or 'the root'} "
            "were left out"
        )
    return dataset


def table_name_for(folder: str, root_name: str, prefix: str = "") -> str:
    """A valid table name for a dataset folder (its last segment, made safe)."""
    last = folder.rsplit("/", 1)[-1] if folder else root_name
    return _safe(prefix + last)


def _safe(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "table"
    return name if re.match(r"[a-z_]", name) else f"t_{name}"


def unique_names(datasets: list[Dataset], root_name: str, prefix: str = "") -> list[str]:
    """A distinct table name per dataset: the folder name, or the path when names collide."""
    names = [table_name_for(d.folder, root_name, prefix) for d in datasets]
    for name in set(names):
        clashing = [i for i, n in enumerate(names) if n == name]
        if len(clashing) > 1:
            for i in clashing:
                path = datasets[i].folder.replace("/", "_") or root_name
                names[i] = _safe(prefix + path)
    return names
