"""Common: what every stage of the core shares and that depends on nothing else of the project.

The exception hierarchy (:mod:`.exceptions`), argument, array and label checks (:mod:`.arguments`,
:mod:`.checks`, :mod:`.labels`), the torch-to-NumPy edge (:mod:`.tensors`), child seeds
(:mod:`.seeds`), content fingerprints and their hash schemes (:mod:`.fingerprint`), content-dedupe
pools (:mod:`.dedupe`) and atomic file writes (:mod:`.io`). Imports nothing heavier than NumPy at
module level.
"""
