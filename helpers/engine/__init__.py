"""The engine layer: reach the Docker engine, say why none answers, run and remove containers.

- :mod:`~helpers.engine.connect`: a client from ``DOCKER_HOST``, the docker context or the
  default socket; engine loss mid-session.
- :mod:`~helpers.engine.failures`: why no engine answers, each cause with its own fix.
- :mod:`~helpers.engine.probe`: what the engine is (Docker or Podman, version, image store,
  build backends).
- :mod:`~helpers.engine.cli`: the docker CLI that can build with BuildKit.
- :mod:`~helpers.engine.containers`: run an image on a free port, wait for ``/health``,
  always clean up.
- :mod:`~helpers.engine.reset`: remove what the kit made, one namespace at a time.

The names below are the connection API the rest of the kit imports from here.
"""

from .connect import (
                      API_TIMEOUT,
                      CONNECT_ERRORS,
                      ENGINE_LOST_ERRORS,
                      connect,
                      engine_errors,
                      engine_host,
                      engine_lost,
                      engine_url,
                      publish_address,
)
from .failures import (
                      CONNECT_TIMEOUT,
                      DEFAULT_SOCKET,
                      failure_kind,
                      root_reason,
                      unavailable,
)
from .probe import (
                      EngineInfo,
                      EngineKind,
                      available_backends,
                      engine_kind,
                      image_store,
                      probe,
)

__all__ = ["API_TIMEOUT", "CONNECT_ERRORS", "CONNECT_TIMEOUT", "DEFAULT_SOCKET",
           "ENGINE_LOST_ERRORS", "EngineInfo", "EngineKind", "available_backends", "connect",
           "engine_errors", "engine_host", "engine_kind", "engine_lost", "engine_url",
           "failure_kind", "image_store", "probe", "publish_address", "root_reason",
           "unavailable"]
