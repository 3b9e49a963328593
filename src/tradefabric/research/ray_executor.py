"""Run trials on Ray: a local instance by default, a cluster when given its address.

Each trial is a pure function of its job, so the workers' results equal the
serial ones; results come back in job order whatever order workers finish in.
"""

from __future__ import annotations

from collections.abc import Sequence

import ray

from tradefabric.core.errors import ConfigError
from tradefabric.research.search import TrialJob, evaluate
from tradefabric.research.trial import TrialResult


def _evaluate(job: TrialJob) -> TrialResult | str:
    return evaluate(job)


class RayExecutor:
    """Trials as Ray tasks of one CPU each."""

    def __init__(self, address: str | None = None, workers: int = 2) -> None:
        """Start a local Ray of ``workers`` CPUs, or join the cluster at ``address``."""
        if workers < 1:
            raise ConfigError(f"--workers: must be >= 1, got {workers}")
        if address is None:
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
        resources = ray.cluster_resources()  # type: ignore[no-untyped-call]  # Ray: untyped
        self.parallelism = max(int(resources.get("CPU", workers)), 1)
        self._task = ray.remote(num_cpus=1)(_evaluate)

    def map(self, jobs: Sequence[TrialJob]) -> list[TrialResult | str]:
        """Run the jobs as tasks; return their outcomes in job order."""
        refs = [self._task.remote(job) for job in jobs]
        outcomes: list[TrialResult | str] = ray.get(refs)
        return outcomes

    def close(self) -> None:
        """Disconnect (and stop a local instance)."""
        ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
