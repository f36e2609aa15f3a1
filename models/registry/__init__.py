"""The agency registry (``models.registry.validation`` for now; everything public is
importable from here)."""

from models.registry.validation import (
    AgencySpec,
    ContactSpec,
    Flag,
    GroupSpec,
    GroupSuccessionSpec,
    ImportSummary,
    RegistryError,
    RegistryFile,
    Resolution,
    SuccessorSpec,
    candidates,
    import_registry,
    list_agencies,
    load_registry,
    normalise_address,
    partial_groups,
    resolve,
    shipped_registry,
)
from models.vocabulary import normalise_phone

__all__ = [
    "AgencySpec",
    "ContactSpec",
    "Flag",
    "GroupSpec",
    "GroupSuccessionSpec",
    "ImportSummary",
    "RegistryError",
    "RegistryFile",
    "Resolution",
    "SuccessorSpec",
    "candidates",
    "import_registry",
    "list_agencies",
    "load_registry",
    "normalise_address",
    "normalise_phone",
    "partial_groups",
    "resolve",
    "shipped_registry",
]
