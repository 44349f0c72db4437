"""The image layer: what an image is, layer by layer and file by file.

- :mod:`~helpers.image.layers`: the summary (size, layers), history and the file breakdown.
- :mod:`~helpers.image.archive`: every ``docker save`` layout (docker-archive, OCI, Podman),
  compressed layers, the overlay merge, streamed.
- :mod:`~helpers.image.facts`: one file read out of an image, ELF facts, the CA bundle, the
  run configuration.

The names below are what the rest of the kit imports from here.
"""

from .archive import ArchiveError, ImageExport, merge, read_export
from .facts import (
                    GO_CERT_FILES,
                    CaBundle,
                    ElfFacts,
                    ImageConfig,
                    elf_facts,
                    find_ca_bundle,
                    image_config,
                    parse_ca_bundle,
                    read_file,
)
from .layers import (
                    CATEGORY_PATTERNS,
                    DEFAULT_CATEGORY,
                    SAVE_CHUNK_SIZE,
                    ImageBreakdown,
                    ImageSummary,
                    breakdown_of,
                    category_sizes,
                    clean_created_by,
                    directory_sizes,
                    engine_size_note,
                    file_breakdown,
                    forget_breakdowns,
                    get_image,
                    history_frame,
                    listed_size,
                    summarize,
)

__all__ = ["ArchiveError", "CATEGORY_PATTERNS", "CaBundle", "DEFAULT_CATEGORY", "ElfFacts",
           "GO_CERT_FILES", "ImageBreakdown", "ImageConfig", "ImageExport", "ImageSummary",
           "SAVE_CHUNK_SIZE", "breakdown_of", "category_sizes", "clean_created_by",
           "directory_sizes", "elf_facts", "engine_size_note", "file_breakdown",
           "find_ca_bundle", "forget_breakdowns", "get_image", "history_frame",
           "image_config", "listed_size", "merge", "parse_ca_bundle", "read_export",
           "read_file", "summarize"]
