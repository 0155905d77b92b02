"""The base of every estimator that fits (like lifelines' ``BaseFitter`` and scikit-learn's ``BaseEstimator``).

It checks ``conf_level`` once, refuses results before :meth:`fit` with :class:`~exoniche.errors.NotFittedError`
naming the estimator and the attribute, and gives a ``repr`` of the settings and, once fitted, the data size.
"""

from __future__ import annotations

import functools
import inspect

from exoniche._ci import check_conf_level
from exoniche.errors import NotFittedError


class Estimator:
    """Base class: settings in ``__init__``, results as attributes set by ``fit``.

    A subclass calls ``super().__init__(conf_level)`` and defines ``fit(...)`` returning ``self``; the base
    marks the estimator fitted when that ``fit`` returns.

    Examples
    --------
    >>> from exoniche.biomarkers import KaplanMeier
    >>> km = KaplanMeier(conf_level=0.9)
    >>> km
    KaplanMeier(conf_level=0.9, label='all')
    >>> km.median
    Traceback (most recent call last):
    ...
    exoniche.errors.NotFittedError: KaplanMeier.median: not fitted yet; call .fit(...) first
    >>> km.fit([1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1]).median  # S = 0.5 from day 2 to the next event, day 4
    3.0
    >>> km
    KaplanMeier(conf_level=0.9, label='all'; fitted: n=4, events=3)
    """

    _fitted = False

    def __init__(self, conf_level: float = 0.95) -> None:
        self.conf_level = check_conf_level(conf_level)

    def __init_subclass__(cls, **kwargs) -> None:
        """Wrap a subclass's own ``fit`` so that a successful call marks the estimator fitted."""
        super().__init_subclass__(**kwargs)
        fit = cls.__dict__.get("fit")
        if fit is None:
            return

        @functools.wraps(fit)
        def fitted(self, *args, **kw):
            self._fitted = False
            out = fit(self, *args, **kw)
            self._fitted = True
            return out

        cls.fit = fitted

    def __getattr__(self, name: str):
        """Only reached for a missing attribute: before ``fit``, that is a result asked for too early."""
        if not name.startswith("__") and not self._fitted:
            raise NotFittedError(f"{type(self).__name__}.{name}: not fitted yet; call .fit(...) first")
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def fitted(self) -> bool:
        """Whether :meth:`fit` has completed."""
        return self._fitted

    def params(self) -> dict:
        """Return the settings given to ``__init__`` (scikit-learn's ``get_params``)."""
        sig = inspect.signature(type(self).__init__)
        return {n: getattr(self, n) for n in list(sig.parameters)[1:] if n in self.__dict__}

    def _fitted_repr(self) -> dict:
        """Return what ``repr`` shows once fitted: the number of subjects and of events."""
        return {"n": self.__dict__.get("n"), "events": self.__dict__.get("n_events")}

    def __repr__(self) -> str:
        """``Name(setting=value, ...; fitted: n=..., events=...)``."""
        settings = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        if not self._fitted:
            return f"{type(self).__name__}({settings})"
        shown = ", ".join(f"{k}={v}" for k, v in self._fitted_repr().items() if v is not None)
        return f"{type(self).__name__}({settings}; fitted: {shown})"
