import os, time
cwd = os.getcwd(); ino = os.stat(cwd).st_ino
import ray
t0 = time.time(); ray.init(); print("INIT", round(time.time() - t0, 2), flush=True)
seen = []
for i in range(60):
    try:
        os.getcwd(); ok = "ok"
    except FileNotFoundError:
        ok = "gone"
    ex = os.path.isdir(cwd) and os.stat(cwd).st_ino
    state = (ok, "same" if ex == ino else ("new" if ex else "missing"))
    if not seen or seen[-1][1] != state:
        seen.append((round(time.time() - t0, 2), state))
    time.sleep(0.1)
print("TORCH", seen, flush=True)
