"""The packages, beyond what pyproject.toml can say: the Avro contract lives at the top level
(``schemas/``, what agencies' own producers read in any language) and ships inside the wheel as
``ledger/schemas/``, where ``ledger.schema_registry`` finds it (docs/design.md, "Layout")."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["ledger*", "consumers*"]), "ledger.schemas"],
    package_dir={"ledger.schemas": "schemas"},
)
