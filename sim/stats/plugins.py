"""Metrics plugged in by name: a function of one run's records, next to the summary's dotted paths.

A sweep's ``metrics:`` lists what each run keeps. Besides a dotted path into the built-in
summary (``response_min.median``), an entry may name a **metric function**: a registered name
(``share_over_60``, or an entry point of the group ``town_sim.metrics``) or a dotted path
``module:function`` (:mod:`sim.registry`). The function receives a :class:`MetricInput` and
returns a float, or a dict of floats; a dict's entries are named ``name.key``
(``mypkg.metrics:shares.over_60``). A metric must be a pure function of the run: no random draws.

Example (a module on ``PYTHONPATH``, named in a sweep as ``mymetrics:share_over_45``)::

    import math

    def share_over_45(run):
        times = [r.response_min for r in run.records if r.detected_min == r.detected_min]
        reached = [t for t in times if not math.isnan(t)]
        return sum(t > 45 for t in reached) / len(reached) if reached else float("nan")

``run.records`` are the measured incidents (occurred after the warm-up), each an
:class:`~sim.engine.records.IncidentRecord` with its documented fields (``occurred_min``,
``detected_min``, ``on_scene_min``, ``resolved_min``, ``channel``, ``incident_type`` ...) and
derived times (``response_min``, ``resolution_min``); ``run.output`` is the whole
:class:`~sim.engine.model.RunOutput` (jobs, busy minutes, backlog). A value that is not a finite
number is kept as null, like a summary statistic of nothing.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from sim.engine.model import RunOutput
from sim.engine.records import IncidentRecord
from sim.registry import BUILTINS, Plugin, PluginError, is_path, names, resolve
from sim.stats.metrics import reported

__all__ = ["MetricInput", "Metric", "find_metric", "plugin_value", "share_over_60", "share_not_reached"]


@dataclass(frozen=True)
class MetricInput:
    """What a metric function sees: one run of one mode and one replication.

    Attributes
    ----------
    output:
        The run's output (``output.records``: every incident, warm-up included; ``output.jobs``,
        ``output.busy_min``, ``output.on_duty_min``, ``output.backlog``, ``output.end_min``).
    warmup_min:
        Incidents that occurred before this minute are not measured.
    target_min:
        The scenario's response target, minutes.
    """

    output: RunOutput
    warmup_min: float
    target_min: float

    @cached_property
    def records(self) -> list[IncidentRecord]:
        """The measured incidents (occurred after the warm-up), in order of occurrence.

        Matters found by joint campaigns are left out, as from the summary's response figures
        (:func:`sim.stats.metrics.reported`).
        """
        return list(reported(self.output.records, self.warmup_min))

    @property
    def end_min(self) -> float:
        """When the run ended: a stage not reached by then is censored there."""
        return self.output.end_min


class Metric(Protocol):
    """What a metric is: a function of one run returning a float or a dict of floats."""

    def __call__(self, run: MetricInput) -> float | Mapping[str, float]:
        """The metric's value(s) for *run*."""
        ...


def _share_over(run: MetricInput, limit_min: float) -> float:
    """Share of detected matters whose response took more than *limit_min*, censoring respected.

    A matter not reached when the run ended counts as over the limit if it had waited longer than
    the limit by then; one that had waited less is left out (its fate is unknown).
    """
    over = known = 0
    for record in run.records:
        detected = record.detected_min
        if math.isnan(detected):
            continue
        response = record.response_min
        if math.isnan(response):
            if run.end_min - detected > limit_min:
                over += 1
                known += 1
            continue
        known += 1
        over += response > limit_min
    return over / known if known else math.nan


def share_over_60(run: MetricInput) -> float:
    """Share of detected matters with a response over 60 minutes (a censored wait past 60 counts as over)."""
    return _share_over(run, 60.0)


def share_not_reached(run: MetricInput) -> float:
    """Share of detected matters that no capable unit reached before the run ended."""
    detected = [r for r in run.records if not math.isnan(r.detected_min)]
    if not detected:
        return math.nan
    return sum(math.isnan(r.on_scene_min) for r in detected) / len(detected)


def find_metric(name: str) -> tuple[Plugin, tuple[str, ...]] | None:
    """The metric function *name* names and the key path into its result, or None for a summary path.

    ``share_over_60`` and ``mypkg.metrics:shares`` name functions; ``mypkg.metrics:shares.over_60``
    names the entry ``over_60`` of the dict that ``shares`` returns.

    Raises
    ------
    PluginError
        If *name* is a dotted path ``module:function`` that does not resolve.
    """
    if is_path(name):
        module, _, attribute = name.partition(":")
        parts = attribute.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                return resolve("metrics", f"{module}:{'.'.join(parts[:cut])}"), tuple(parts[cut:])
            except PluginError:
                if cut == 1:
                    raise
        return None
    head, *rest = name.split(".")
    if head in BUILTINS["metrics"] or head in names("metrics"):
        return resolve("metrics", head), tuple(rest)
    return None


def plugin_value(plugin: Plugin, keys: tuple[str, ...], run: MetricInput) -> float | None:
    """The value of a metric function for *run*, following *keys* into a dict; None when not finite.

    Raises
    ------
    ValueError
        If the function returns neither a number nor a dict with those keys.
    """
    value = plugin.obj(run)
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            raise ValueError(f"metric '{plugin.name}' returned no entry '{key}'")
        value = value[key]
    if isinstance(value, Mapping):
        listed = ", ".join(f"{plugin.name}.{k}" for k in value)
        raise ValueError(f"metric '{plugin.name}' returns several values; name one of them: {listed}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"metric '{plugin.name}' returned {type(value).__name__}; expected a number")
    value = float(value)
    return value if math.isfinite(value) else None
