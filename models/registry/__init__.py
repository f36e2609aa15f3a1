"""The agency registry: load a registry file, import it, list agencies, resolve phrases.

A package along those sections, everything public importable from here: ``specs`` (what
a validated file says), ``validation`` (reading YAML or CSV and checking it whole, with
the file layouts), ``importing`` (the idempotent upsert), ``resolution`` (listing, and a
phrase resolved on a day through aliases, groups and successions).
"""

from models.registry.importing import ImportSummary, import_registry
from models.registry.resolution import Flag, Resolution, candidates, list_agencies, resolve
from models.registry.specs import (
    AgencySpec,
    ContactSpec,
    GroupSpec,
    GroupSuccessionSpec,
    RegistryError,
    RegistryFile,
    SuccessorSpec,
    shipped_registry,
)
from models.registry.validation import load_registry, normalise_address, partial_groups
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
