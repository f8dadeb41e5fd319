"""Durations drawn at random: on-scene work, detection delays, hand-overs.

Every random duration in a scenario is one of these small, validated specs. A spec is
plain data (``{dist: lognormal, mean: 20, cv: 0.8}``, or a bare number for a fixed
duration); :func:`sample` turns it into minutes with a generator the caller owns, so no
distribution ever touches a global random state.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    model_validator,
)

__all__ = ["Fixed", "Exponential", "Lognormal", "Gamma", "Uniform", "Duration", "sample", "sampler", "mean_of"]

if TYPE_CHECKING:  # numpy is imported where an array is made: reading a scenario file does not need it
    import numpy as np

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class Fixed(BaseModel):
    """Always the same number of minutes (``value``)."""

    model_config = _FROZEN
    dist: Literal["fixed"] = "fixed"
    value: float = Field(ge=0, allow_inf_nan=False, description="minutes")


class Exponential(BaseModel):
    """Memoryless duration with the given ``mean`` minutes (Markovian service)."""

    model_config = _FROZEN
    dist: Literal["exponential"]
    mean: PositiveFloat = Field(allow_inf_nan=False, description="mean, minutes")


class Lognormal(BaseModel):
    """Right-skewed duration given by its ``mean`` minutes and coefficient of variation ``cv``."""

    model_config = _FROZEN
    dist: Literal["lognormal"]
    mean: PositiveFloat = Field(allow_inf_nan=False, description="mean, minutes")
    cv: PositiveFloat = Field(allow_inf_nan=False, le=20, description="standard deviation / mean")


class Gamma(BaseModel):
    """Gamma duration given by its ``mean`` minutes and coefficient of variation ``cv``."""

    model_config = _FROZEN
    dist: Literal["gamma"]
    mean: PositiveFloat = Field(allow_inf_nan=False, description="mean, minutes")
    cv: PositiveFloat = Field(allow_inf_nan=False, le=20, description="standard deviation / mean")


class Uniform(BaseModel):
    """Duration uniform between ``low`` and ``high`` minutes."""

    model_config = _FROZEN
    dist: Literal["uniform"]
    low: float = Field(ge=0, allow_inf_nan=False, description="minutes")
    high: float = Field(ge=0, allow_inf_nan=False, description="minutes")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be at least low ({self.low})")
        return self


_Spec = Annotated[Fixed | Exponential | Lognormal | Gamma | Uniform, Field(discriminator="dist")]


def _from_number(value: object) -> object:
    """Let a bare number stand for a fixed duration, as planners write it."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


Duration = Annotated[_Spec, BeforeValidator(_from_number)]
"""A duration in minutes: a number (fixed) or ``{dist: ..., ...}``."""


def sampler(spec: Fixed | Exponential | Lognormal | Gamma | Uniform):
    """A function ``rng -> minutes`` drawing one value of *spec*, the same value :func:`sample` draws.

    Made once and called per event, it skips the dispatch on the distribution's kind.
    """
    if isinstance(spec, Fixed):
        value = spec.value
        return lambda rng: (rng.random(), value)[1]
    if isinstance(spec, Exponential):
        mean = spec.mean
        return lambda rng: rng.exponential(mean)
    if isinstance(spec, Lognormal):
        sigma2 = math.log1p(spec.cv**2)
        mu, sigma = math.log(spec.mean) - sigma2 / 2, math.sqrt(sigma2)
        return lambda rng: rng.lognormal(mu, sigma)
    if isinstance(spec, Gamma):
        shape = 1.0 / spec.cv**2
        scale = spec.mean / shape
        return lambda rng: rng.gamma(shape, scale)
    low, high = spec.low, spec.high
    return lambda rng: rng.uniform(low, high)


def sample(spec: Fixed | Exponential | Lognormal | Gamma | Uniform, rng: np.random.Generator, size: int | None = None):
    """Draw minutes from *spec* with *rng*; one float, or an array when *size* is given.

    Every call draws from *rng* even for a fixed duration, so the number of variates a
    stream consumes does not depend on the distribution chosen (keeps other draws aligned).
    """
    if size is None:
        return float(sampler(spec)(rng))
    u_shape = (size,)
    if isinstance(spec, Fixed):
        import numpy as np

        rng.random(u_shape)
        out = np.full(u_shape, spec.value)
    elif isinstance(spec, Exponential):
        out = rng.exponential(spec.mean, u_shape)
    elif isinstance(spec, Lognormal):
        sigma2 = math.log1p(spec.cv**2)
        out = rng.lognormal(math.log(spec.mean) - sigma2 / 2, math.sqrt(sigma2), u_shape)
    elif isinstance(spec, Gamma):
        shape = 1.0 / spec.cv**2
        out = rng.gamma(shape, spec.mean / shape, u_shape)
    else:
        out = rng.uniform(spec.low, spec.high, u_shape)
    return out


def mean_of(spec: Fixed | Exponential | Lognormal | Gamma | Uniform) -> float:
    """The distribution's mean in minutes (for offered-load and theory checks)."""
    if isinstance(spec, Fixed):
        return spec.value
    if isinstance(spec, Uniform):
        return (spec.low + spec.high) / 2
    return spec.mean
