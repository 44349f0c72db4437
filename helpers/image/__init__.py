"""The image layer: what an image is, layer by layer and file by file.

Engine-facing (they take a docker client):

- :mod:`~helpers.image.inspect`: the image looked up (a KitError with a hint when missing),
  the size ``docker images`` lists and what it counts, the history as instructions.
- :mod:`~helpers.image.summary`: the headline figures (the kit's one size, layers).
- :mod:`~helpers.image.breakdown`: every file of every layer, from ``docker save``, and the
  dive-style wasted bytes; kept per image id.
- :mod:`~helpers.image.archive`: every ``docker save`` layout (docker-archive, OCI, Podman),
  compressed layers, the overlay merge, streamed.
- :mod:`~helpers.image.files`: one file read out of an image without running it; the CA
  bundle Go would load.
- :mod:`~helpers.image.runconfig`: how the engine will run the image (ENTRYPOINT/CMD, USER...).

Pure (bytes or tables in, no engine):

- :mod:`~helpers.image.elf`: ELF facts and Go build information of a binary.
- :mod:`~helpers.image.certs`: Go's CA bundle locations and the bundle's certificate count.
- :mod:`~helpers.image.categories`: friendly file categories, bytes per category/directory.

The names below are what the rest of the kit imports from here.
"""

from __future__ import annotations

from .archive import ArchiveError, ImageExport, merge, read_export, stacked_export
from .breakdown import (
                    SAVE_CHUNK_SIZE,
                    ImageBreakdown,
                    breakdown_of,
                    file_breakdown,
                    forget_breakdowns,
)
from .categories import CATEGORY_PATTERNS, DEFAULT_CATEGORY, category_sizes, directory_sizes
from .certs import GO_CERT_FILES, CaBundle, first_ca_bundle, parse_ca_bundle
from .elf import ElfFacts, elf_facts
from .files import find_ca_bundle, read_file
from .inspect import clean_created_by, engine_size_note, get_image, history_frame, listed_size
from .runconfig import ImageConfig, config_from_inspect, image_config
from .summary import ImageSummary, summarize

__all__ = ["ArchiveError", "CATEGORY_PATTERNS", "CaBundle", "DEFAULT_CATEGORY", "ElfFacts",
           "GO_CERT_FILES", "ImageBreakdown", "ImageConfig", "ImageExport", "ImageSummary",
           "SAVE_CHUNK_SIZE", "breakdown_of", "category_sizes", "clean_created_by",
           "config_from_inspect",
           "directory_sizes", "elf_facts", "engine_size_note", "file_breakdown",
           "find_ca_bundle", "first_ca_bundle", "forget_breakdowns", "get_image",
           "history_frame",
           "image_config", "listed_size", "merge", "parse_ca_bundle", "read_export",
           "read_file", "stacked_export", "summarize"]
