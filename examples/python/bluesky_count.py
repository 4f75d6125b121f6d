"""Count an arrowdaq stream with Bluesky: five events, each the mean of one window of samples.

    python examples/python/bluesky_count.py [URI] [STREAM]      (defaults grpc://127.0.0.1:8815 photodiode)

Start a server first, e.g. `arrowdaq serve examples/demo.toml`. Prints one line per event and
the run's uid; exits 1 with the error if the server or stream is not there.
"""
import sys

from bluesky import RunEngine
from bluesky.plans import count

import arrowdaq
from arrowdaq.ophyd import stream_detector


def main(argv):
    uri = argv[1] if len(argv) > 1 else arrowdaq.DEFAULT_URI
    stream = argv[2] if len(argv) > 2 else "photodiode"
    try:
        daq = arrowdaq.Client(uri)
        det = stream_detector(daq, stream, dwell=0.1)    # each event: 0.1 s of samples
    except arrowdaq.ArrowdaqError as e:
        print(f"bluesky_count: {e}", file=sys.stderr)
        return 1
    RE = RunEngine({})

    def show(name, doc):
        if name == "event":
            data = doc["data"]
            means = ", ".join(f"{k}={v:.6g}" for k, v in data.items() if k.endswith(tuple(det.hints["fields"])))
            print(f"event {doc['seq_num']}: {means} ({data[det.name + '_count']} samples, "
                  f"packets {data[det.name + '_first_sequence']}..{data[det.name + '_last_sequence']})")
    (uid,) = RE(count([det], 5), show)
    print(f"run {uid}")
    daq.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
