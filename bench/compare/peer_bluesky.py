"""The Bluesky RunEngine with ophyd's simulated detectors acquiring N readings:
RE(count([det1, det2], num=N)) with no subscriber, timed from the call to its return;
events/s = N / time. Each event holds one reading of each detector (2 values)."""
import time


def events_per_second(num):
    from bluesky import RunEngine
    from bluesky.plans import count
    from ophyd.sim import det1, det2

    RE = RunEngine({})
    RE(count([det1, det2], num=10))  # warm up (imports, first-call costs)
    t0 = time.perf_counter()
    RE(count([det1, det2], num=num))
    dt = time.perf_counter() - t0
    return {"events": num, "seconds": dt, "events_per_s": num / dt}
