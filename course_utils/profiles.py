"""Run profiles: one object holding every size knob of the course (lesson 00).

A notebook reads its numbers (epochs, dataset size, batch size, model width...) from the profile
returned by :func:`course_utils.setup` and never branches on the profile's name, so the ``gpu``
profile runs exactly the same code as ``cpu`` and ``smoke``, only bigger.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

ENV_VAR = "COURSE_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Every number that sets how big a lesson runs. Read these; never test ``profile.name``."""

    name: str
    description: str
    # data
    n_train: int  #: images in a training set (a cap: smaller datasets are used whole)
    n_test: int  #: images in a test / held-out set
    image_size: int  #: side of natural-image crops (restoration lessons); CIFAR-10's native 32 in every profile
    # training
    batch_size: int
    classifier_epochs: int  #: lesson 03's CNN classifier
    gan_epochs: int  #: DCGAN and its stabilised variants (lessons 06, 08)
    inpaint_epochs: int  #: CNN inpainters of digits (lessons 12, 15) and lesson 10's first, plain U-Net (half of it)
    photo_inpaint_epochs: int  #: lesson 10's photo inpainter, taught by a Gaussian prior (loaded by lessons 11, 16)
    finetune_steps: int  #: steps of each adversarial fine-tuning run of lesson 10's inpainter (lesson 11)
    toy_steps: int  #: steps of the 1-D toy GAN (lesson 04)
    latent_steps: int  #: optimisation steps of a latent-space search (lesson 12)
    max_steps: int | None  #: hard cap on steps per training run (None = no cap)
    diffusion_steps: int  #: training steps of the digit diffusion model (lesson 13)
    diffusion_batch_size: int  #: its batch size
    diffusion_width: int  #: its U-Net's channels at full resolution
    diffusion_learning_rate: float  #: its Adam learning rate (high, with an EMA of the weights to sample from)
    ema_decay: float  #: decay of that exponential moving average of the weights
    sampling_steps: int  #: DDIM steps when a diffusion model draws samples for a grid or a metric
    toy_diffusion_steps: int  #: training steps of the 2-D toy diffusion model (lesson 13)
    conditional_steps: int  #: training steps of the class-conditional flow-matching model (lesson 14)
    # models
    width: int  #: base number of filters of the course's CNNs
    latent_dim: int  #: size of the GAN noise vector z
    # evaluation and pictures
    n_eval: int  #: samples used by metrics (FID, KID, precision/recall)
    n_show: int  #: images in a sample grid
    # hardware settings (switched on by setup() only where the hardware supports them)
    #: Keras policy the trainers build their models in (``cu.training_precision``), e.g. "mixed_float16"; None =
    #: float32. setup() keeps it only where the hardware runs it fast; everything else always computes in float32.
    mixed_precision: str | None
    jit_compile: bool  #: XLA-compile the train steps
    memory_growth: bool  #: let TensorFlow grow GPU memory instead of taking it all

    def __post_init__(self) -> None:
        """Refuse a knob of the wrong kind (``batch_size=-5``, ``gan_epochs=2.5``) with a sentence naming it."""
        for knob in dataclasses.fields(self):
            value, kind = getattr(self, knob.name), str(knob.type).replace(" ", "")
            if kind in ("int", "int|None"):
                if value is None and kind == "int|None":
                    continue
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    allowed = "a whole number >= 1" + (" or None (no cap)" if kind == "int|None" else "")
                    raise ValueError(f"The profile knob {knob.name} must be {allowed}; got {value!r}.")
            elif kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0):
                raise ValueError(f"The profile knob {knob.name} must be a number >= 0; got {value!r}.")
            elif kind == "bool" and not isinstance(value, bool):
                raise ValueError(f"The profile knob {knob.name} must be True or False; got {value!r}.")
            elif kind == "str" and not isinstance(value, str):
                raise ValueError(f"The profile knob {knob.name} must be text; got {value!r}.")

    def replace(self, **changes) -> Profile:
        """A copy with some knobs changed, e.g. ``profile.replace(gan_epochs=5)``."""
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(
                f"Profile has no knob(s) {', '.join(unknown)}; "
                f"the knobs are: {', '.join(f.name for f in dataclasses.fields(self))}."
            )
        return dataclasses.replace(self, **changes)

    def summary(self) -> str:
        """The knobs as aligned ``name: value`` lines, for the setup report."""
        rows = [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)]
        rows = [(k, v) for k, v in rows if k not in ("name", "description")]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"  {k:<{width}} : {v}" for k, v in rows)


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke",
        description="tests and CI: every notebook end to end in seconds, offline; results are not meaningful",
        n_train=256,
        n_test=64,
        image_size=32,
        batch_size=32,
        classifier_epochs=1,
        gan_epochs=1,
        inpaint_epochs=1,
        photo_inpaint_epochs=1,
        finetune_steps=4,
        toy_steps=50,
        latent_steps=5,
        max_steps=4,
        diffusion_steps=4,
        diffusion_batch_size=16,
        diffusion_width=8,
        diffusion_learning_rate=0.002,
        ema_decay=0.9,
        sampling_steps=4,
        toy_diffusion_steps=100,
        conditional_steps=4,
        width=8,
        latent_dim=16,
        n_eval=64,
        n_show=16,
        mixed_precision="mixed_bfloat16",  # as the cpu profile, so the tests run the cpu code path
        jit_compile=False,
        memory_growth=True,
    ),
    "cpu": Profile(
        name="cpu",
        description="a laptop without a GPU: each training lesson in a few minutes, results clearly visible",
        n_train=20_000,
        n_test=2_000,
        image_size=32,
        batch_size=128,
        classifier_epochs=5,
        gan_epochs=10,
        inpaint_epochs=1,  # one pass over 20,000 photos, 156 steps (benchmarks/README.md has the time it takes)
        photo_inpaint_epochs=4,  # 624 steps: where the taught U-Net passes the classical methods (benchmarks/README.md)
        finetune_steps=100,  # per lambda of lesson 11's sweep; its discriminator warms up for twice as many
        toy_steps=2_000,
        latent_steps=200,
        max_steps=None,
        diffusion_steps=1500,
        diffusion_batch_size=64,
        diffusion_width=16,
        diffusion_learning_rate=0.002,
        ema_decay=0.999,
        sampling_steps=25,
        toy_diffusion_steps=2000,
        conditional_steps=1000,
        width=32,
        latent_dim=64,
        n_eval=2_000,
        n_show=36,
        mixed_precision="mixed_bfloat16",  # only on CPUs with bfloat16 instructions (AVX512_BF16, AMX)
        jit_compile=False,
        memory_growth=True,
    ),
    "gpu": Profile(
        name="gpu",
        description=(
            "full training on a GPU (Colab): converged runs on the full datasets at their native sizes (digits "
            "28 px, CIFAR-10 32 px), as publications use them"
        ),
        n_train=60_000,
        n_test=10_000,
        image_size=32,  # CIFAR-10's own side: upscaled photos would hold no more detail, only more pixels
        batch_size=256,
        classifier_epochs=10,
        gan_epochs=50,
        inpaint_epochs=40,
        photo_inpaint_epochs=40,
        finetune_steps=1_000,
        toy_steps=5_000,
        latent_steps=500,
        max_steps=None,
        diffusion_steps=30_000,
        diffusion_batch_size=128,
        diffusion_width=64,
        diffusion_learning_rate=0.0002,
        ema_decay=0.9999,
        sampling_steps=50,
        toy_diffusion_steps=4000,
        conditional_steps=30_000,
        width=64,
        latent_dim=100,
        n_eval=10_000,
        n_show=64,
        mixed_precision="mixed_float16",
        jit_compile=True,
        memory_growth=True,
    ),
}


def get_profile(name: str | None = None, *, gpu_available: bool | None = None) -> Profile:
    """Return the run profile: ``name``, else ``$COURSE_PROFILE``, else ``gpu`` with a GPU and ``cpu`` without.

    ``gpu_available`` is asked of TensorFlow when it is needed and not given.
    """
    if name is not None and not isinstance(name, str):
        valid = ", ".join(repr(p) for p in PROFILES)
        raise TypeError(f"The profile name must be text, one of {valid}; got {name!r} ({type(name).__name__}).")
    chosen = name if name is not None else os.environ.get(ENV_VAR, "").strip() or None
    if chosen is None:
        if gpu_available is None:
            import tensorflow as tf

            gpu_available = bool(tf.config.list_physical_devices("GPU"))
        chosen = "gpu" if gpu_available else "cpu"
    key = chosen.strip().lower()
    if key not in PROFILES:
        source = "profile name" if name is not None else f"environment variable {ENV_VAR}"
        valid = ", ".join(repr(p) for p in PROFILES)
        raise ValueError(f"Unknown run profile {chosen!r} (from the {source}); choose one of {valid}.")
    return PROFILES[key]
