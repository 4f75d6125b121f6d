"""Write the seed corpus of kafka_message_fuzz (fuzz/corpus/kafka_message_fuzz/): message values
as the kafka sink writes them (docs/multi-node.md), made with pyarrow, with and without header
sections. Run from the repository root with the project's .venv."""
from pathlib import Path

import numpy as np
import pyarrow as pa

out = Path("fuzz/corpus/kafka_message_fuzz")
out.mkdir(parents=True, exist_ok=True)
schema = pa.schema([pa.field("timestamp", pa.timestamp("ns", tz="UTC"), nullable=False),
                    pa.field("ch0", pa.float64(), nullable=False, metadata={"unit": "V"})],
                   metadata={"arrowdaq.format_version": "1", "driver": "sim.ramp"})
batch = pa.record_batch([pa.array(np.arange(4) * 1000, pa.timestamp("ns", tz="UTC")),
                         pa.array(np.arange(4, dtype=np.float64))], schema=schema)
s = schema.serialize().to_pybytes()
b = batch.serialize().to_pybytes()
headers = (b"arrowdaq.format=1\narrowdaq.node=a\narrowdaq.stream=ramp\n"
           b"arrowdaq.session=0123456789abcdef\narrowdaq.seq=3\narrowdaq.schema=0123456789abcdef\n--\n")
seeds = {
    "schema_and_batch.bin": s + b,
    "batch_only.bin": b,
    "schema_only.bin": s,
    "with_headers.bin": headers + s + b,
    "bad_seq_header.bin": headers.replace(b"seq=3", b"seq=-1") + b,
    "truncated.bin": (s + b)[: len(s) + len(b) // 2],
}
for name, data in seeds.items():
    (out / name).write_bytes(data)
