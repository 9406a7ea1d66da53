"""Data augmentation for image-shaped inputs, applied on the fly to training batches.

Rows are flattened images: ``X_batch`` has shape (m, h*w) and each augmenter
knows ``image_shape = (h, w)``. Each one is called as
``augmenter(X_batch, rng) -> new array`` with an explicit
``numpy.random.Generator``, draws one random transform per image, never
modifies its input, and is vectorised over the batch:

- :class:`HorizontalFlip` mirrors left-right with probability ``p``;
- :class:`RandomShift` translates by up to ``max_shift`` pixels in each
  direction (a random crop of the image padded by ``max_shift``);
- :class:`RandomRotation` rotates by an angle in [-max_degrees, max_degrees]
  about the image centre (bilinear interpolation);
- :class:`GaussianNoise` adds N(0, std^2) noise to every value (no clipping).

Pixels a shift or rotation brings in from outside the image take the
image's *background*: by default the median of its border pixels
(:func:`border_background`; 0 for MNIST-like images). That is a value in
the image's own units, so the geometric augmenters must see raw pixels:
the trainer's batches are normalised, and a standardised 0 is each pixel's
training mean (grey on a black background), not the background.
:class:`InRawUnits` undoes the scaler around them; :func:`parse_augment`
with a ``scaler`` does that for every run of geometric augmenters.

:class:`Compose` chains them; :func:`parse_augment` builds one from a spec
such as ``"flip,shift:2,rotate:10,noise:0.05"``. Augmentation is off unless
asked for, and the trainer applies it to training batches only (never to dev
or test data).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import ConfigError, DataError


def _image_shape(image_shape) -> tuple[int, int]:
    if image_shape is None or len(image_shape) != 2 or min(image_shape) < 1:
        raise ConfigError(f"augmentation needs image_shape=(height, width), got {image_shape!r}")
    return int(image_shape[0]), int(image_shape[1])


def border_background(images: np.ndarray) -> np.ndarray:
    """Each image's background: the median of its border pixels, shape (m,) from (m, h, w)."""
    m, h, w = images.shape
    if h < 3 or w < 3:
        border = images.reshape(m, -1)
    else:
        border = np.concatenate([images[:, 0, :], images[:, -1, :], images[:, 1:-1, 0], images[:, 1:-1, -1]], axis=1)
    return np.median(border, axis=1).astype(images.dtype if images.dtype.kind == "f" else np.float32)


def _fill_values(fill, images: np.ndarray) -> np.ndarray:
    """Per-image fill values (m,): ``"border"`` -> :func:`border_background`, a number -> that number."""
    if isinstance(fill, str):
        if fill != "border":
            raise ConfigError(f"fill must be 'border' or a number, got {fill!r}")
        return border_background(images)
    return np.full(images.shape[0], fill, dtype=images.dtype if images.dtype.kind == "f" else np.float32)


def _check_fill(fill):
    if fill != "border" and (isinstance(fill, bool) or not isinstance(fill, (int, float)) or not np.isfinite(fill)):
        raise ConfigError(f"fill must be 'border' or a finite number, got {fill!r}")
    return fill


class Augmenter:
    """Base class: ``__call__(X_batch, rng)`` returns an augmented copy of shape (m, h*w)."""

    def __init__(self, image_shape: Sequence[int] | None = None) -> None:
        self.image_shape = tuple(image_shape) if image_shape is not None else None

    def _images(self, X: np.ndarray) -> np.ndarray:
        """``X`` (m, h*w) as a (m, h, w) view, after checking the sizes agree."""
        h, w = _image_shape(self.image_shape)
        if X.ndim != 2 or X.shape[1] != h * w:
            raise DataError(f"{type(self).__name__}: batch of shape {X.shape} does not hold "
                            f"{h}x{w} images (expected (m, {h * w}))")
        return X.reshape(X.shape[0], h, w)

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


class HorizontalFlip(Augmenter):
    """Mirror each image left-right with probability ``p`` (``p=1`` flips all: twice is the identity)."""

    def __init__(self, p: float = 0.5, image_shape=None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ConfigError(f"flip probability must be in [0, 1], got {p!r}")
        super().__init__(image_shape)
        self.p = float(p)

    def __call__(self, X, rng):
        images = self._images(X)
        out = X.copy()
        flip = rng.random(X.shape[0]) < self.p
        out.reshape(images.shape)[flip] = images[flip, :, ::-1]
        return out


class RandomShift(Augmenter):
    """Translate each image by (dy, dx), each uniform in {-max_shift..max_shift}; the background fills in.

    Positive dy moves the content down, positive dx to the right: the same
    as a random ``h x w`` crop of the image padded by ``max_shift`` pixels of
    background. Along an axis of ``n`` pixels the shift is at most ``n - 1``
    (a shift by ``n`` would leave only background): MNIST-1D's ``1 x 40``
    signals shift along time only. ``fill``: ``"border"`` (each image's border median,
    :func:`border_background`) or a number. One gather from a padded copy of
    the batch (a sliding-window view), no Python loop.
    """

    def __init__(self, max_shift: int = 2, image_shape=None, fill="border") -> None:
        if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ConfigError(f"max_shift must be an integer >= 0 pixels, got {max_shift!r}")
        super().__init__(image_shape)
        self.max_shift = int(max_shift)
        self.fill = _check_fill(fill)

    def __call__(self, X, rng):
        images = self._images(X)
        m, h, w = images.shape
        ky, kx = min(self.max_shift, h - 1), min(self.max_shift, w - 1)  # a 1-row signal shifts sideways only
        shifts = rng.integers(-np.array([ky, kx]), np.array([ky, kx]) + 1, size=(m, 2))
        return shift_images(images, shifts, _fill_values(self.fill, images)).reshape(m, h * w)


def shift_images(images: np.ndarray, shifts: np.ndarray, fill=0.0) -> np.ndarray:
    """Shift each image of ``images`` (m, h, w) by ``shifts[i] = (dy, dx)`` pixels; ``fill`` fills in.

    ``fill``: a number, or one per image (shape (m,)). Returns a new (m, h, w)
    array: ``out[i, r, c] = images[i, r - dy, c - dx]`` where that is inside
    the image, else ``fill[i]``.
    """
    m, h, w = images.shape
    shifts = np.asarray(shifts, dtype=np.int64)
    k = int(np.abs(shifts).max()) if shifts.size else 0
    if k == 0:
        return images.copy()
    fill = np.broadcast_to(np.asarray(fill, dtype=images.dtype), (m,))
    padded = np.empty((m, h + 2 * k, w + 2 * k), dtype=images.dtype)
    padded[...] = fill[:, None, None]
    padded[:, k:k + h, k:k + w] = images
    windows = np.lib.stride_tricks.sliding_window_view(padded, (h, w), axis=(1, 2))  # (m, 2k+1, 2k+1, h, w)
    return windows[np.arange(m), k - shifts[:, 0], k - shifts[:, 1]]


class RandomRotation(Augmenter):
    """Rotate each image by an angle uniform in [-max_degrees, max_degrees] about its centre.

    ``fill`` (``"border"`` or a number) is the value outside the image, as for :class:`RandomShift`.
    """

    def __init__(self, max_degrees: float = 10.0, image_shape=None, fill="border") -> None:
        if not 0.0 <= max_degrees <= 180.0:
            raise ConfigError(f"max_degrees must be in [0, 180], got {max_degrees!r}")
        super().__init__(image_shape)
        self.max_degrees = float(max_degrees)
        self.fill = _check_fill(fill)

    def __call__(self, X, rng):
        images = self._images(X)
        angles = rng.uniform(-self.max_degrees, self.max_degrees, size=X.shape[0])
        return rotate_images(images, angles, _fill_values(self.fill, images)).reshape(X.shape)


def rotate_images(images: np.ndarray, degrees: np.ndarray, fill=0.0) -> np.ndarray:
    """Rotate each image of ``images`` (m, h, w) counter-clockwise by ``degrees[i]`` about its centre.

    Bilinear interpolation; points that come from outside the image are
    ``fill`` (a number, or one per image).
    Output pixel p takes the input at ``R(-theta) (p - centre) + centre``
    (the inverse map), all images at once: the batch is padded with ``fill``
    wide enough that every source point falls inside, then four gathers from
    the flattened padded batch give the corners to blend.

    Returns
    -------
    ndarray of float32 (or the input's float dtype), shape (m, h, w)
    """
    m, h, w = images.shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    pad = int(np.ceil(np.hypot(cy, cx) - min(cy, cx))) + 1  # rotation keeps the distance to the centre
    W = w + 2 * pad
    theta = np.deg2rad(np.asarray(degrees, dtype=np.float64))[:, None, None]
    cos, sin = np.cos(theta).astype(np.float32), np.sin(theta).astype(np.float32)
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    dy, dx = rows - np.float32(cy), cols - np.float32(cx)
    # with x = dx and y = -dy (rows grow downwards), the source of (x, y) is R(-theta) (x, y)
    src_r = cos * dy + sin * dx
    src_r += np.float32(cy + pad)
    src_c = cos * dx - sin * dy
    src_c += np.float32(cx + pad)
    r0, c0 = np.floor(src_r), np.floor(src_c)
    fr, fc = src_r - r0, src_c - c0
    corner = r0.astype(np.intp) * W + c0.astype(np.intp)      # top-left neighbour, flat index
    corner += (np.arange(m, dtype=np.intp) * ((h + 2 * pad) * W))[:, None, None]
    padded = np.empty((m, h + 2 * pad, W), dtype=images.dtype)
    padded[...] = np.broadcast_to(np.asarray(fill, dtype=images.dtype), (m,))[:, None, None]
    padded[:, pad:pad + h, pad:pad + w] = images
    flat = padded.reshape(-1)
    top_left, top_right = flat[corner], flat[corner + 1]
    bottom_left, bottom_right = flat[corner + W], flat[corner + (W + 1)]
    top = top_left + (top_right - top_left) * fc
    bottom = bottom_left + (bottom_right - bottom_left) * fc
    return (top + (bottom - top) * fr).astype(images.dtype if images.dtype.kind == "f" else np.float32)


class GaussianNoise(Augmenter):
    """Add independent N(0, std^2) noise to every value (any input shape)."""

    def __init__(self, std: float = 0.05, image_shape=None) -> None:
        if not std >= 0.0:
            raise ConfigError(f"noise std must be >= 0, got {std!r}")
        super().__init__(image_shape)
        self.std = float(std)

    def __call__(self, X, rng):
        noise = rng.standard_normal(X.shape, dtype=np.float32)
        noise *= np.float32(self.std)
        return (X + noise).astype(X.dtype if X.dtype.kind == "f" else np.float32)


class Compose(Augmenter):
    """Apply augmenters in order: ``Compose([HorizontalFlip(), RandomShift(2)])``."""

    def __init__(self, augmenters: Sequence[Augmenter], image_shape=None) -> None:
        super().__init__(image_shape)
        self.augmenters = list(augmenters)
        if image_shape is not None:
            for a in self.augmenters:
                if a.image_shape is None:
                    a.image_shape = tuple(image_shape)

    def __call__(self, X, rng):
        out = X
        for augmenter in self.augmenters:
            out = augmenter(out, rng)
        return out.copy() if out is X else out

    def __len__(self) -> int:
        return len(self.augmenters)


class InRawUnits(Augmenter):
    """Apply ``augmenter`` to raw pixels: ``scaler.transform(augmenter(scaler.inverse_transform(X)))``.

    The trainer's batches are normalised; a background fill (and a rotation's
    blend with it) means something only in the image's own units.
    """

    def __init__(self, augmenter: Augmenter, scaler) -> None:
        super().__init__(augmenter.image_shape)
        self.augmenter, self.scaler = augmenter, scaler

    def __call__(self, X, rng):
        return self.scaler.transform(self.augmenter(self.scaler.inverse_transform(X), rng), copy=False)


AUGMENTERS = {
    "flip": (HorizontalFlip, "p", float),
    "shift": (RandomShift, "max_shift", int),
    "rotate": (RandomRotation, "max_degrees", float),
    "noise": (GaussianNoise, "std", float),
}


def parse_augment(spec: str | None, image_shape: Sequence[int] | None, scaler=None) -> Compose | None:
    """Build augmenters from ``"flip,shift:2,rotate:10,noise:0.05"``; None for ``None``, ``""`` or ``"none"``.

    Each item is ``name`` or ``name:value``: ``flip[:p]`` (p = 0.5), ``shift[:pixels]`` (2),
    ``rotate[:degrees]`` (10), ``noise[:std]`` (0.05). With the run's fitted
    ``scaler``, each run of flips, shifts and rotations works on raw pixels
    (:class:`InRawUnits`), so the background fill is the image's own; noise
    stays in the normalised units its ``std`` is given in.
    """
    if spec is None or not str(spec).strip() or str(spec).strip().lower() == "none":
        return None
    augmenters = []
    for item in str(spec).split(","):
        name, _, value = item.strip().partition(":")
        name = name.strip().lower()
        if name not in AUGMENTERS:
            raise ConfigError(f"unknown augmentation {name!r} in {spec!r}; expected {', '.join(AUGMENTERS)} "
                              "(e.g. 'flip,shift:2,rotate:10,noise:0.05')")
        cls, param, kind = AUGMENTERS[name]
        kwargs = {}
        if value.strip():
            try:
                kwargs[param] = kind(value)
            except ValueError:
                raise ConfigError(f"augmentation {name!r}: {value!r} is not a valid {param} "
                                  f"({kind.__name__})") from None
        if name != "noise":
            _image_shape(image_shape)
        augmenters.append(cls(image_shape=image_shape, **kwargs))
    if scaler is not None and hasattr(scaler, "offset_"):
        augmenters = _raw_runs(augmenters, scaler, image_shape)
    return Compose(augmenters, image_shape=image_shape)


def _raw_runs(augmenters: list, scaler, image_shape) -> list:
    """Wrap each maximal run of geometric augmenters in one :class:`InRawUnits` (one round trip per run)."""
    out: list = []
    run: list = []
    for a in [*augmenters, None]:
        if a is not None and not isinstance(a, GaussianNoise):
            run.append(a)
            continue
        if run:
            out.append(InRawUnits(Compose(run, image_shape=image_shape), scaler))
            run = []
        if a is not None:
            out.append(a)
    return out
