"""Building the learner's image without a Docker engine (Binder), for this exercise's shape.

A Go builder stage (``FROM golang:<ver>``) is run with the local Go toolchain in a folder that
stands for the stage's filesystem; the ``scratch`` final stage is assembled from its
``COPY --from`` instructions; the result is written as a reproducible image archive that
``docker load`` accepts and :mod:`helpers.image` reads like any engine's export. ko
(ko-build/ko, ``pkg/build/gobuild.go``) builds Go images the same way. Anything outside that
subset raises :class:`NeedsEngine` naming the instruction, so checks report ``skip``, never
``pass``.

- :mod:`~helpers.build.engineless.entries`: one file of an image layer (shared types).
- :mod:`~helpers.build.engineless.writer`: layers + config -> a reproducible image archive.
- :mod:`~helpers.build.engineless.context`: the build context, `.dockerignore` applied.
- :mod:`~helpers.build.engineless.toolchain`: the local Go toolchain and C compiler.
- :mod:`~helpers.build.engineless.stages`: run a builder stage; files for ``COPY --from``.
"""
