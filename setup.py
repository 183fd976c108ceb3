"""Maps the design card's top-level folders into the ``gatewatch`` namespace.

``vision/``, ``models/`` and ``api/`` install as ``gatewatch.vision``, ``gatewatch.models`` and
``gatewatch.api``, so nothing with a generic name lands at the top of site-packages.
Everything else lives in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

ROOTS = {"gatewatch": "gatewatch", "gatewatch.vision": "vision", "gatewatch.models": "models", "gatewatch.api": "api"}

packages: list[str] = []
for package, folder in ROOTS.items():
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]

packages += ["gatewatch.api.static", "gatewatch.api.static.js", "gatewatch.api.static.js.views"]  # console files (package data, no Python)

setup(packages=packages, package_dir=dict(ROOTS))
