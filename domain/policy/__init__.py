"""Regional policy packs (地区政策包): each source document as validated data.

The packs live in ``packs/<id>.toml``; :mod:`.model` defines their shape, :mod:`.loader` loads,
merges (``extends``), validates and pins them, :mod:`.expr` is the predicate language of
categories and exclusions, and :mod:`.diff` compares two versions. See ``README.md`` here for
the file format, the merge rule and the list of assumed (administrator) settings per pack.
"""

from domain.policy.loader import (
    PolicyPackError,
    UnknownPolicyPackError,
    list_packs,
    load_all,
    load_pack,
    load_pack_file,
    pack_from_json,
)
from domain.policy.model import PolicyPack

__all__ = [
    "PolicyPack",
    "PolicyPackError",
    "UnknownPolicyPackError",
    "list_packs",
    "load_all",
    "load_pack",
    "load_pack_file",
    "pack_from_json",
]
