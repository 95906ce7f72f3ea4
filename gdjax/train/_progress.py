"""A progress bar per chunk of epochs (tqdm), silent unless asked for."""

from __future__ import annotations

import math
from typing import Any

from tqdm import tqdm


class ProgressBar:
    """Epochs done out of ``total``, with the latest losses and metrics as postfix.

    Disabled bars print nothing at all, so library calls stay quiet.
    """

    def __init__(self, enabled: bool, total: int, initial: int = 0) -> None:
        self._done = initial
        self._bar = None
        if not enabled:
            return  # no tqdm object at all: a disabled bar costs nothing per call
        self._bar = tqdm(
            total=total,
            initial=initial,
            unit="epoch",
            desc="fit",
            disable=not enabled,
            dynamic_ncols=True,
            leave=True,
            # Chunks are coarse (a handful per run): show every one.
            mininterval=0.0,
            miniters=1,
        )

    def update(self, epochs_done: int, latest: dict[str, Any]) -> None:
        """Moves to ``epochs_done`` and shows the finite entries of ``latest``."""
        if self._bar is None:
            return
        shown = {k: f"{float(v):.4g}" for k, v in latest.items() if v is not None and math.isfinite(float(v))}
        self._bar.set_postfix(shown, refresh=False)
        self._bar.update(epochs_done - self._done)
        self._done = epochs_done

    def note(self, text: str) -> None:
        """A short final word (early stop, divergence) shown next to the bar."""
        if self._bar is not None:
            self._bar.set_description_str(f"fit ({text})")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
