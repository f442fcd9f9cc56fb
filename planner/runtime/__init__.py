"""Runtime: the torch edge of the core and the process limits it runs under.

Forward passes over tasks in batches (:mod:`.forward`, :mod:`.model_outputs`), the seeded epoch loop
shared by every trainer (:mod:`.epochs`), the safe checkpoint loader (:mod:`.checkpoints`), memory
budgets (:mod:`.allocator`) and thread limits (:mod:`.threads`). torch loads only when a function
here runs.
"""
