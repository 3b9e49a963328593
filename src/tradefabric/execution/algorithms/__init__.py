"""Execution algorithms: parent orders worked as child orders (TWAP, iceberg, pegging).

``ExecAlgorithmEngine`` (``engine``) sits between the strategies and the execution
engine; ``BUILTIN`` are the algorithms every kernel registers; ``tactics`` holds
what each venue supports, as data.
"""

from __future__ import annotations

from tradefabric.execution.algorithms.base import ExecAlgorithm
from tradefabric.execution.algorithms.iceberg import Iceberg
from tradefabric.execution.algorithms.peg import Peg
from tradefabric.execution.algorithms.twap import Twap

BUILTIN: dict[str, type[ExecAlgorithm]] = {a.name: a for a in (Twap, Iceberg, Peg)}
