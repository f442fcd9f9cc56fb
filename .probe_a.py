import os, sys
V = "a"
if V == "c":
    import torch
import ray
if V == "a":
    ray.init()
else:
    ray.init(runtime_env={"py_modules": ["/root/.cache/transfergraph/ship/41974053db1928dc/transfergraph"]})
print("INIT", V, flush=True)
import torch
x = torch.randn(64, 64); print("TORCH OK", V, float((x @ x).sum()) != 0, flush=True)
