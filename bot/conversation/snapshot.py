"""Snapshots the durable writer stores or spools: a frozen dataclass as {"kind": KIND, **fields}."""
from __future__ import annotations

from dataclasses import asdict
from typing import ClassVar, Mapping, Type, TypeVar

T = TypeVar("T", bound="SpoolRecord")


class SpoolRecord:
    """Mixin for a frozen dataclass written through bot.service.durable under the kind `KIND`."""

    KIND: ClassVar[str] = ""

    def to_record(self) -> dict:
        """The spool record of this snapshot."""
        return {"kind": self.KIND, **asdict(self)}

    @classmethod
    def from_record(cls: Type[T], record: Mapping) -> T:
        """Rebuild a snapshot from its spool record."""
        return cls(**{k: v for k, v in record.items() if k != "kind"})
