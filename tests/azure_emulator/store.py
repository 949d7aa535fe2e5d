"""The emulated subscription's state: ARM JSON documents keyed by case-insensitive id.

Top-level resources (and resource groups) are stored whole, children (routes,
subnets, ipConfigurations) embedded in their parent exactly as ARM returns
them, so a parent GET and a child GET read the same data.
"""

from __future__ import annotations

import copy
import uuid
from typing import Iterator

from .arm.ids import key


def new_etag() -> str:
    # The Network RP's weak etag: W/"<uuid>"; one value per resource tree and write.
    return f'W/"{uuid.uuid4()}"'


def stamp_etag(resource: dict, etag: str, child_arrays: tuple[str, ...] = ()) -> None:
    """Give ``resource`` and its embedded children the same new etag, as the Network RP does."""
    resource["etag"] = etag
    props = resource.get("properties") or {}
    for array_key in child_arrays:
        for child in props.get(array_key) or []:
            child["etag"] = etag


class Store:
    def __init__(self) -> None:
        self._items: dict[str, dict] = {}

    def get(self, resource_id: str) -> dict | None:
        return self._items.get(key(resource_id))

    def put(self, resource_id: str, document: dict) -> None:
        self._items[key(resource_id)] = document

    def delete(self, resource_id: str) -> dict | None:
        return self._items.pop(key(resource_id), None)

    def __contains__(self, resource_id: str) -> bool:
        return key(resource_id) in self._items

    def clear(self) -> None:
        self._items.clear()

    def all(self) -> Iterator[dict]:
        return iter(list(self._items.values()))

    def of_type(self, full_type: str, subscription: str | None = None, resource_group: str | None = None) -> list[dict]:
        """Documents of one type, optionally in one subscription / resource group, in insertion order."""
        prefix = None
        if subscription and resource_group:
            prefix = key(f"/subscriptions/{subscription}/resourceGroups/{resource_group}") + "/"
        elif subscription:
            prefix = key(f"/subscriptions/{subscription}") + "/"
        wanted = full_type.lower()
        found = []
        for item_key, doc in self._items.items():
            if str(doc.get("type", "")).lower() != wanted:
                continue
            if prefix and not item_key.startswith(prefix):
                continue
            found.append(doc)
        return found

    def snapshot(self) -> dict[str, dict]:
        return copy.deepcopy(self._items)
