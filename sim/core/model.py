"""The county model: porch thefts, sprees, victims, detectives, moderators and residents
driving the reference system through a :class:`~sim.core.ports.SystemPort`.

:class:`CountyModel` builds one replication's :class:`~sim.core.world.World` (the
SimPy environment, the streams, the county, the two staff pools, the port and
the record sink), starts the two processes that run for the whole horizon, and
returns the records. The actors live in modules named after them, each process a
generator function there:

* :mod:`sim.core.thefts`: thieves arriving by thinning, their sprees;
* :mod:`sim.core.investigations`: victims reporting, detectives opening cases,
  drafting requests and follow-ups;
* :mod:`sim.core.moderation`: moderators reviewing requests;
* :mod:`sim.core.residents`: notified residents answering, sharing clips,
  opting out (the clips themselves: :mod:`sim.core.clips`);
* :mod:`sim.core.evidence`: transfers, the platform's job worker, evidence
  review and identification;
* :mod:`sim.core.canvassing`: door-to-door canvassing.

Time is minutes since the scenario's start; t = 0 is midnight. Not modelled
(yet): package values, weekday effects, the victims' and moderators' working hours.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import simpy

from sim.core import records as rec
from sim.core.background import background_source
from sim.core.clips import ClipCatalogue
from sim.core.county import build_county
from sim.core.evidence import platform_worker
from sim.core.params import ModelParams
from sim.core.parcels import ParcelExposure
from sim.core.population import Population
from sim.core.ports import Staffing, SystemPort
from sim.core.staff import Staff
from sim.core.streams import make_streams
from sim.core.thefts import spree_record, theft_source
from sim.core.world import ResidentBook, WorkerState, World


class CountyModel:
    """One replication of the county, driving the system through ``port``."""

    def __init__(
        self, population: Population, params: ModelParams, port: SystemPort, *, seed: int
    ) -> None:
        env = simpy.Environment()
        streams = make_streams(seed)
        county = build_county(population, params, streams)
        self.world = World(
            env=env,
            params=params,
            population=population,
            seed=seed,
            streams=streams,
            county=county,
            parcels=ParcelExposure(
                params.delivery_hour_weights,
                dwell_median_min=params.porch_dwell_median_min,
                dwell_sigma=params.porch_dwell_sigma,
                prevention_dwell_factor=params.prevention_risk_multiplier,
            ),
            detectives=Staff(env, "detectives", params.detectives),
            moderators=Staff(env, "moderators", params.moderators),
            port=port,
            clips=ClipCatalogue(params=params, population=population, seed=seed),
            residents=ResidentBook(
                requests_received=np.zeros(county.n_residents, dtype=np.int64),
                opted_out=county.resident_opted_out_at_start.copy(),
            ),
            worker=WorkerState(ran=env.event()),
        )
        self._ran = False

    def run(
        self,
        until_min: float,
        *,
        progress: Callable[[float], None] | None = None,
        progress_every_min: float = 7 * 24 * 60,
    ) -> rec.ModelResult:
        """Set the system up, simulate ``[0, until_min)`` and return the records.

        ``progress`` is called with the fraction of the horizon done, every
        ``progress_every_min`` of simulated time (a week by default).
        """
        if self._ran:
            raise RuntimeError("a CountyModel runs once; build a new one per replication")
        self._ran = True
        world, p = self.world, self.world.params
        staffing = Staffing(p.detectives, p.supervisors, p.moderators)
        world.port.setup(
            world.population,
            staffing=staffing,
            seed=world.seed,
            on_platform=world.county.resident_on_platform,
        )
        for resident in np.flatnonzero(world.residents.opted_out).tolist():
            world.port.opt_out(at_min=0.0, resident=resident)
            home = world.county.resident_home(resident)
            world.log.opt_outs.append(
                rec.OptOutRecord(
                    resident=resident,
                    at_min=0.0,
                    requests_received=0,
                    before_run=True,
                    home_in_slice=bool(world.population.home_in_slice[home]),
                )
            )
        world.env.process(theft_source(world))
        world.env.process(platform_worker(world))
        world.env.process(background_source(world))
        step = progress_every_min if progress is not None else until_min
        reached = 0.0
        while reached < until_min:
            reached = min(until_min, reached + step)
            world.env.run(until=reached)
            if progress is not None:
                progress(reached / until_min)
        world.port.flush()
        return self._result(until_min)

    def _result(self, until_min: float) -> rec.ModelResult:
        world = self.world
        log = world.log
        owners = world.population.owner_homes
        for spree in world.sprees.values():  # still going at the horizon
            log.sprees.append(spree_record(spree, ended_at_min=until_min, ended_by="horizon"))
        # Answers a driver deferred are settled now: the records carry the system's verdict.
        world.residents.settle(log, final=True)
        return rec.ModelResult(
            seed=world.seed,
            county=world.population.county,
            horizon_min=until_min,
            response_period_min=world.params.response_period_min,
            n_homes=world.population.n_slice_homes,
            n_camera_owners=int(np.count_nonzero(world.population.home_in_slice[owners])),
            n_platform_users=int(
                np.count_nonzero(
                    world.population.home_in_slice[owners] & world.county.resident_on_platform
                )
            ),
            county_households=world.population.county_households,
            slice_share=world.population.slice_share,
            parcels_delivered=world.population.n_slice_homes
            * world.params.parcels_per_household(until_min),
            detective_hourly_cost_usd=world.params.detective_hourly_cost_usd,
            face_recognition=world.params.face_recognition,
            utilisation=(
                world.detectives.utilisation(until_min),
                world.moderators.utilisation(until_min),
            ),
            **{name: getattr(log, name) for name in vars(log)},
        )
