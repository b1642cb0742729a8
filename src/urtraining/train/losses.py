"""Loss choice from config, and the dataset columns each loss expects."""

from __future__ import annotations

from datasets import Dataset
from sentence_transformers import SentenceTransformer, losses
from sentence_transformers.util import pairwise_cos_sim

#: teacher scores span about -10..7; cosine margins span -2..2
MARGIN_SCALE = 10.0


def make_loss(name: str, model: SentenceTransformer, batch_size: int):
    if name == "mnrl":
        return losses.MultipleNegativesRankingLoss(model)
    if name == "cached_mnrl":
        # gradient caching: large effective batches (more in-batch negatives) in small memory
        return losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=min(16, batch_size))
    if name == "triplet":
        return losses.TripletLoss(
            model, distance_metric=losses.TripletDistanceMetric.COSINE, triplet_margin=0.3
        )
    if name == "margin_mse":
        return losses.MarginMSELoss(model, similarity_fct=pairwise_cos_sim)
    if name == "contrastive":
        return losses.ContrastiveLoss(model, margin=0.5)
    raise ValueError(f"train.loss: unknown loss {name!r}")


def to_loss_dataset(rows: list[dict], loss: str) -> Dataset:
    """Reshape training rows (anchor/positive/negative + teacher scores) for ``loss``."""
    with_neg = [r for r in rows if r.get("negative")]
    if loss in ("mnrl", "cached_mnrl"):
        if with_neg and len(with_neg) == len(rows):
            return Dataset.from_dict(
                {k: [r[k] for r in rows] for k in ("anchor", "positive", "negative")}
            )
        return Dataset.from_dict({k: [r[k] for r in rows] for k in ("anchor", "positive")})
    if loss == "triplet":
        return Dataset.from_dict(
            {k: [r[k] for r in with_neg] for k in ("anchor", "positive", "negative")}
        )
    if loss == "margin_mse":
        return Dataset.from_dict(
            {
                "anchor": [r["anchor"] for r in with_neg],
                "positive": [r["positive"] for r in with_neg],
                "negative": [r["negative"] for r in with_neg],
                "label": [(r["pos_score"] - r["neg_score"]) / MARGIN_SCALE for r in with_neg],
            }
        )
    if loss == "contrastive":
        s1, s2, label = [], [], []
        for r in rows:
            s1.append(r["anchor"])
            s2.append(r["positive"])
            label.append(1)
            if r.get("negative"):
                s1.append(r["anchor"])
                s2.append(r["negative"])
                label.append(0)
        return Dataset.from_dict({"sentence1": s1, "sentence2": s2, "label": label})
    raise ValueError(f"train.loss: unknown loss {loss!r}")
