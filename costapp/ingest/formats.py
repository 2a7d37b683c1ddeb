"""The registry of source formats: name -> the module that parses it.

Each format module exposes `KIND` ("billing", "telemetry" or "requests") and
`parse(file: InputFile) -> Iterator[row]` yielding the dataclasses of costapp.ingest.rows.
Modules are imported lazily so a deployment that never reads Parquet never imports pyarrow.
"""

from __future__ import annotations

import importlib
from types import ModuleType

FORMATS: dict[str, str] = {
    "focus": "costapp.ingest.focus",
    "cur": "costapp.ingest.cur",
    "cur2": "costapp.ingest.cur2",
    "gcp": "costapp.ingest.gcp",
    "azure": "costapp.ingest.azure",
    "oci": "costapp.ingest.oci",
    "dcgm": "costapp.ingest.dcgm",
    "prometheus": "costapp.ingest.prometheus",
    "nvidia-smi": "costapp.ingest.nvidia_smi",
    "jsonl": "costapp.ingest.jsonl",
    "otel": "costapp.ingest.otel",
    "litellm": "costapp.ingest.litellm",
    "langfuse": "costapp.ingest.langfuse",
    "openai": "costapp.ingest.openai_usage",
    "anthropic": "costapp.ingest.anthropic_usage",
}


def get_format(name: str) -> ModuleType:
    try:
        module_path = FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"unknown format {name!r}; known formats: {known}") from None
    return importlib.import_module(module_path)
