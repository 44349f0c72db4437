"""Building the learner's image without a Docker engine (Binder), for this exercise's shape.

A Go builder stage (``FROM golang:<ver>``) is run with the local Go toolchain in a folder that
stands for the stage's filesystem; the ``scratch`` final stage is assembled from its
``COPY --from`` instructions; the result is written as a reproducible image archive that
``docker load`` accepts and :mod:`helpers.image` reads like any engine's export. ko
(ko-build/ko, ``pkg/build/gobuild.go``) builds Go images the same way. Anything outside that
subset raises :class:`NeedsEngine` naming the instruction, so checks report ``skip``, never
``pass``.

- :mod:`~helpers.build.engineless.entries`: one file of an image layer (shared types).
- :mod:`~helpers.build.engineless.context`: the build context, `.dockerignore` applied.
- :mod:`~helpers.build.engineless.disk`: entries to and from a folder standing for ``/``.
- :mod:`~helpers.build.engineless.toolchain`: the local Go toolchain and C compiler.
- :mod:`~helpers.build.engineless.basefiles`: the recorded manifest of ``golang:1.22``.
- :mod:`~helpers.build.engineless.stages`: run a builder stage; files for ``COPY --from``.
- :mod:`~helpers.build.engineless.runconfig`: the image's run config from the Dockerfile.
- :mod:`~helpers.build.engineless.final`: the final stage's layers (:class:`EnginelessImage`).
- :mod:`~helpers.build.engineless.writer`: layers + config -> a reproducible image archive.
- :mod:`~helpers.build.engineless.build`: :func:`build_without_engine`, the whole build.
- :mod:`~helpers.build.engineless.run`: the entrypoint as a local process (``runs``).
- :mod:`~helpers.build.engineless.depcache`: the ``dep-cache`` verdict from Docker's rules.

Measuring the result is :mod:`helpers.grading.engineless`'s job (it may use
:mod:`helpers.image`, which this package, on the same layer, may not).
"""
