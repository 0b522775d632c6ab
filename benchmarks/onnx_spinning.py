"""ONNX Runtime with and without busy-waiting threads (allow_spinning), alternated in one run: wall time and CPU time
of a decode followed by 20 ms idle (what an interactive app does), medians. Run from the repository root."""
import glob
import os
import statistics
import time

import numpy as np
import onnxruntime as ort

p = glob.glob('resources/models/celeba64-z256/fast_path_decoder.onnx')[0]
def sess(spin):
    o = ort.SessionOptions(); o.log_severity_level=4; o.intra_op_num_threads=2
    if not spin: o.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(p, o, providers=["CPUExecutionProvider"])
S = {True: sess(True), False: sess(False)}
name = S[True].get_inputs()[0].name
res = {True: [], False: []}; cpu = {True: [], False: []}
for b in (1, 32):
    z = np.random.default_rng(0).normal(size=(b, 256)).astype(np.float32)
    for spin in (True, False): S[spin].run(None, {name: z})
    res = {True: [], False: []}; cpu = {True: [], False: []}
    for r in range(30):
        for spin in ((True, False) if r % 2 else (False, True)):
            t, c = time.perf_counter(), time.process_time()
            S[spin].run(None, {name: z}); time.sleep(0.02)
            res[spin].append(time.perf_counter()-t-0.02); cpu[spin].append(time.process_time()-c)
    for spin in (True, False):
        print(f"batch {b} spin={spin}: wall {statistics.median(res[spin])*1e3:.1f} ms (min {min(res[spin])*1e3:.1f}), cpu incl. 20 ms idle after {statistics.median(cpu[spin])*1e3:.1f} ms")
print("load", os.getloadavg()[0])
