"""``canvass seed``'s model side: a synthetic county population, handed to the system's
seeding (:func:`system.seed.seed_database`) as rows to store.

The population generator lives in the model and the system imports no other part,
so the generating half of seeding stays here, among the drivers that connect the two.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.counties import CountySpec
from sim.core.population import camera_rows, generate_population, resident_rows
from system import seed as system_seed
from system.config import Settings
from system.service_layer.registration import PopulationRows


def seed_database(
    settings: Settings,
    *,
    county: CountySpec,
    scale: float,
    seed: int,
    out: Path,
    resident_accounts: int,
    device_tokens: int,
    echo: Callable[[str], None],
) -> dict[str, Any]:
    """Seed the database behind ``settings`` with ``county``'s population at ``scale``;
    returns (and writes) the credentials (see :func:`system.seed.seed_database`)."""
    population = generate_population(county, seed=seed, scale=scale)
    rows = PopulationRows(resident_rows(population, seed=seed), camera_rows(population))
    owners = len(rows.residents)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(owners, size=min(resident_accounts, owners), replace=False)
    return system_seed.seed_database(
        settings,
        population=rows,
        homes=population.n_homes,
        county=county.name,
        account_holders=chosen.tolist(),
        device_tokens=device_tokens,
        out=out,
        echo=echo,
    )
