"""Packaging beyond pyproject.toml: conf/ and the base scripts install inside the package.

They stay at the top of the repository, where users edit them; a wheel carries them as
zo_sweep/conf/ and zo_sweep/legacy_scripts/, where zo_sweep.RESOURCE_ROOT finds them.
Hydra finds plugins in the namespace package hydra_plugins/ (no __init__.py, shared with the
other plugins a user installs), which find_packages would skip: it is found as a namespace.
"""

from setuptools import find_namespace_packages, find_packages, setup

RESOURCES = {"zo_sweep.conf": "conf", "zo_sweep.legacy_scripts": "legacy_scripts"}

setup(
    packages=[
        *find_packages(include=["zo_sweep", "zo_sweep.*"]),
        *find_namespace_packages(include=["hydra_plugins", "hydra_plugins.*"]),
        *RESOURCES,
    ],
    package_dir=RESOURCES,
    package_data={
        "zo_sweep": ["example_data/**/*.jsonl", "data/templates/*.j2"],
        "zo_sweep.conf": ["*.yaml", "**/*.yaml"],
        "zo_sweep.legacy_scripts": ["*.sh"],
    },
    exclude_package_data={"zo_sweep.legacy_scripts": ["*.py"]},
)
