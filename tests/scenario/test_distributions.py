"""Duration specs: each draws the mean and coefficient of variation it promises, from its own family.

A sample of ``N`` values is drawn with a fixed seed. The tolerances are computed, not guessed:
``Z`` standard errors, where the standard error of the sample mean is ``sd / sqrt(N)`` and that of
the sample standard deviation is ``sqrt(mu4 - sd**4) / (2 sd sqrt(N))`` (``mu4`` the central fourth
moment, from the family's kurtosis). With ``Z = 5`` a correct sampler fails a check with
probability about 6e-7; a sampler off by one standard error of the mean in 200,000 draws
(0.2% of the mean for an exponential) is caught.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from sim.scenario.distributions import Duration, Exponential, Fixed, Gamma, Lognormal, Uniform, mean_of, sample, sampler

N = 200_000
"""Values per sample."""
Z = 5.0
"""Standard errors allowed."""


def _family(spec) -> scipy.stats.rv_continuous:
    """The distribution *spec* promises, built from its documented parameters (mean, cv, bounds)."""
    if isinstance(spec, Exponential):
        return scipy.stats.expon(scale=spec.mean)
    if isinstance(spec, Lognormal):
        sigma2 = math.log(1 + spec.cv**2)  # a lognormal's cv**2 is exp(sigma**2) - 1
        return scipy.stats.lognorm(s=math.sqrt(sigma2), scale=spec.mean * math.exp(-sigma2 / 2))
    if isinstance(spec, Gamma):
        shape = spec.cv**-2  # a gamma's cv is 1/sqrt(shape)
        return scipy.stats.gamma(shape, scale=spec.mean / shape)
    return scipy.stats.uniform(loc=spec.low, scale=spec.high - spec.low)


def _intended(spec) -> tuple[float, float]:
    """The mean and coefficient of variation *spec* promises (from its own fields)."""
    if isinstance(spec, Uniform):
        mean = (spec.low + spec.high) / 2
        return mean, (spec.high - spec.low) / math.sqrt(12) / mean
    return spec.mean, getattr(spec, "cv", 1.0)  # an exponential's cv is 1


RANDOM_SPECS = [
    Exponential(dist="exponential", mean=20.0),
    Lognormal(dist="lognormal", mean=20.0, cv=0.8),
    Lognormal(dist="lognormal", mean=60.0, cv=0.3),
    Gamma(dist="gamma", mean=20.0, cv=0.5),
    Gamma(dist="gamma", mean=45.0, cv=2.0),
    Uniform(dist="uniform", low=5.0, high=35.0),
]


@pytest.mark.parametrize("spec", RANDOM_SPECS, ids=lambda s: f"{s.dist}-{mean_of(s):g}")
def test_mean_and_cv_within_computed_standard_errors(spec):
    """The sample mean and cv are within Z standard errors of the spec's mean and cv."""
    values = sample(spec, np.random.default_rng(20240613), N)
    mean, cv = _intended(spec)
    sd = cv * mean
    excess_kurtosis = float(_family(spec).stats(moments="k"))
    se_mean = sd / math.sqrt(N)
    se_sd = math.sqrt((excess_kurtosis + 2) * sd**4) / (2 * sd * math.sqrt(N))  # mu4 - sd**4 = (kurtosis - 1) sd**4
    se_cv = se_sd / mean + cv * se_mean / mean  # |d(s/m)| <= |ds|/m + (s/m)|dm|/m, to first order
    assert values.shape == (N,)
    assert abs(values.mean() - mean) <= Z * se_mean, (values.mean(), mean, se_mean)
    assert abs(values.std(ddof=1) / values.mean() - cv) <= Z * se_cv, (values.std(ddof=1) / values.mean(), cv, se_cv)
    assert mean_of(spec) == pytest.approx(mean)


@pytest.mark.parametrize("spec", RANDOM_SPECS, ids=lambda s: f"{s.dist}-{mean_of(s):g}")
def test_each_spec_draws_from_its_own_family(spec):
    """Kolmogorov-Smirnov against the promised family: a lognormal and a gamma with the same mean
    and cv are different distributions, and the moment test alone would not tell them apart."""
    values = sample(spec, np.random.default_rng(7), 20_000)
    assert scipy.stats.kstest(values, _family(spec).cdf).pvalue > 1e-4
    other = Gamma(dist="gamma", mean=spec.mean, cv=spec.cv) if isinstance(spec, Lognormal) else None
    if other is not None:  # the test has the power to tell the families apart
        assert scipy.stats.kstest(values, _family(other).cdf).pvalue < 1e-4


def test_fixed_is_exactly_its_value_and_consumes_one_uniform_per_value():
    """A fixed duration is its value every time, and draws one uniform per value from the stream
    (so switching a duration to fixed leaves the stream's later draws where they were)."""
    spec = Fixed(value=7.5)
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    assert np.array_equal(sample(spec, rng, 1000), np.full(1000, 7.5))
    twin.random(1000)
    assert rng.random() == twin.random()
    assert sample(spec, rng) == 7.5 and mean_of(spec) == 7.5
    assert sampler(spec)(rng) == 7.5


@pytest.mark.parametrize("spec", [Fixed(value=4.0), *RANDOM_SPECS], ids=lambda s: s.dist)
def test_one_at_a_time_equals_many_at_once(spec):
    """``sampler`` (one value per call, used per event) draws exactly what ``sample(size=n)`` does."""
    one = sampler(spec)
    rng, twin, third = (np.random.default_rng(11) for _ in range(3))
    singles = [one(rng) for _ in range(500)]
    assert singles == sample(spec, twin, 500).tolist()
    assert [sample(spec, third) for _ in range(500)] == singles


def test_a_bare_number_is_a_fixed_duration_and_bad_specs_are_refused():
    adapter = TypeAdapter(Duration)
    assert adapter.validate_python(12) == Fixed(value=12.0)
    assert adapter.validate_python({"dist": "gamma", "mean": 5, "cv": 0.5}) == Gamma(dist="gamma", mean=5, cv=0.5)
    for bad in (
        True,
        -1,
        {"dist": "uniform", "low": 9, "high": 3},
        {"dist": "lognormal", "mean": 5},
        {"dist": "exponential", "mean": 0},
        {"dist": "gamma", "mean": 5, "cv": 21},
        {"dist": "weibull", "mean": 5},
        float("nan"),
    ):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


_specs = st.one_of(
    st.builds(lambda v: Fixed(value=v), st.floats(0, 1e5)),
    st.builds(lambda m: Exponential(dist="exponential", mean=m), st.floats(1e-3, 1e5)),
    st.builds(lambda m, c: Lognormal(dist="lognormal", mean=m, cv=c), st.floats(1e-3, 1e5), st.floats(0.01, 20)),
    st.builds(lambda m, c: Gamma(dist="gamma", mean=m, cv=c), st.floats(1e-3, 1e5), st.floats(0.01, 20)),
    st.builds(lambda a, w: Uniform(dist="uniform", low=a, high=a + w), st.floats(0, 1e5), st.floats(0, 1e5)),
)


@settings(max_examples=300, deadline=None)
@given(spec=_specs, seed=st.integers(0, 2**32 - 1))
def test_never_negative_always_finite_and_the_same_seed_gives_the_same_value(spec, seed):
    values = sample(spec, np.random.default_rng(seed), 64)
    assert np.all(values >= 0) and np.all(np.isfinite(values))
    assert np.array_equal(values, sample(spec, np.random.default_rng(seed), 64))
    one = sample(spec, np.random.default_rng(seed))
    assert one == sample(spec, np.random.default_rng(seed)) and one >= 0 and math.isfinite(one)
    if isinstance(spec, Uniform):
        assert np.all((spec.low <= values) & (values <= spec.high))
