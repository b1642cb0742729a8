"""KServe predictors for the recommender and the tracker (DESIGN.md §6).

No business logic lives here: each predictor validates a request, calls one ``urtraining``
function and shapes the answer for the protocol (v1 ``:predict`` or v2 ``/infer``).
"""
