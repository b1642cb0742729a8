"""Fast encoders for a sentence-transformers folder: ONNX fp32 or int8, beside plain torch.

The serving hot path is one short text per request, where torch's per-call overhead is most
of the time (MEASURED.md: 28 ms torch vs 8 ms ONNX int8 on one core). sentence-transformers'
own ``backend="onnx"`` needs optimum, which would downgrade our sentence-transformers, so the
transformer is exported here with ``torch.onnx.export`` and quantised with onnxruntime; the
tokeniser, pooling, normalisation and prompts are read from the same folder, so an
``OnnxEncoder`` encodes like ``SentenceTransformer.encode`` (checked by tests and by
``benchmarks/bench_serving.py``, which also compares rankings).

Exports are cached by content hash of the weights, so a server start after the first is fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from urtraining.errors import UsageError

ENCODER_KINDS = ("torch", "onnx", "onnx-int8")

# module types by class name: sentence-transformers 6 moved them (models.Pooling ->
# sentence_transformer.modules.pooling.Pooling), and folders of both layouts exist
_ST_TRANSFORMER = "Transformer"
_ST_POOLING = "Pooling"
_ST_NORMALIZE = "Normalize"


class Encoder(Protocol):
    """The part of ``SentenceTransformer.encode`` the recommender uses."""

    def encode(
        self,
        sentences: str | Sequence[str],
        prompt: str | None = None,
        prompt_name: str | None = None,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        **kwargs: Any,
    ) -> np.ndarray: ...


def default_cache_dir() -> Path:
    root = os.environ.get("URTRAINING_CACHE_DIR")
    if root:
        return Path(root) / "onnx"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "urtraining" / "onnx"


def capped_length(requested: int | None, limit: int) -> int:
    """Tokens kept per text: ``requested`` if given, never above the model's own ``limit``."""
    if requested is not None and requested < 8:
        raise UsageError(f"max_seq_length: {requested} is below 8 tokens")
    return min(requested or limit, limit)


def _read_json(path: Path) -> dict | list:
    return json.loads(path.read_text()) if path.is_file() else {}


class _Layout:
    """What a sentence-transformers folder says about its modules, pooling and prompts."""

    def __init__(self, model_dir: Path):
        self.model_dir = model_dir
        modules = _read_json(model_dir / "modules.json") or [
            {"type": _ST_TRANSFORMER, "path": ""},
            {"type": _ST_POOLING, "path": "1_Pooling"},
        ]
        types = [m["type"].rsplit(".", 1)[-1] for m in modules]
        unsupported = [t for t in types if t not in (_ST_TRANSFORMER, _ST_POOLING, _ST_NORMALIZE)]
        if not types or types[0] != _ST_TRANSFORMER or unsupported:
            raise UsageError(
                f"{model_dir}: modules {types} are not supported by the ONNX encoder "
                "(Transformer, Pooling, Normalize only); use the torch encoder"
            )
        self.transformer_dir = model_dir / modules[0].get("path", "")
        pooling = next((m for m in modules if m["type"] == _ST_POOLING), None)
        cfg = _read_json(model_dir / pooling["path"] / "config.json") if pooling else {}
        if "pooling_mode" in cfg:  # sentence-transformers 6
            self.pooling = str(cfg["pooling_mode"])
        elif cfg.get("pooling_mode_cls_token"):
            self.pooling = "cls"
        elif cfg.get("pooling_mode_lasttoken"):
            self.pooling = "lasttoken"
        elif cfg.get("pooling_mode_max_tokens"):
            self.pooling = "max"
        else:
            self.pooling = "mean"
        if self.pooling not in ("mean", "cls", "max", "lasttoken") or (
            cfg.get("include_prompt") is False
        ):
            raise UsageError(
                f"{model_dir}: pooling {cfg} is not supported by the ONNX encoder; use torch"
            )
        self.normalize = _ST_NORMALIZE in types
        sbert = _read_json(model_dir / "sentence_bert_config.json")
        tok_cfg = _read_json(self.transformer_dir / "tokenizer_config.json")
        # 5.x keeps it in sentence_bert_config.json, 6.x in the tokenizer's model_max_length
        self.max_seq_length = int(
            sbert.get("max_seq_length") or min(int(tok_cfg.get("model_max_length") or 512), 512)
        )
        st_cfg = _read_json(model_dir / "config_sentence_transformers.json")
        self.prompts: dict[str, str] = dict(st_cfg.get("prompts") or {})
        self.default_prompt_name: str | None = st_cfg.get("default_prompt_name")

    def weights_hash(self) -> str:
        h = hashlib.sha256()
        for name in ("model.safetensors", "pytorch_model.bin", "config.json", "tokenizer.json"):
            path = self.transformer_dir / name
            if path.is_file():
                with path.open("rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
        return h.hexdigest()[:20]


def export_onnx(model_dir: str | Path, out_dir: str | Path, quantize: bool = True) -> Path:
    """Export the folder's transformer to ``out_dir/model.onnx`` (and ``model_int8.onnx``)."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    layout = _Layout(Path(model_dir))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # eager attention: the SDPA path decides masking from the traced shapes
    model = AutoModel.from_pretrained(layout.transformer_dir, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(layout.transformer_dir)
    sample = tokenizer(["a sample text", "a"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class _Wrapped(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, tensors, strict=True))).last_hidden_state

    fp32 = out_dir / "model.onnx"
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        tmp_path = Path(tmp) / "model.onnx"
        with torch.inference_mode():
            torch.onnx.export(
                _Wrapped(model),
                tuple(sample[n] for n in names),
                str(tmp_path),
                dynamo=False,  # the dynamo exporter needs onnxscript; TorchScript's does not
                input_names=names,
                output_names=["last_hidden_state"],
                dynamic_axes={n: {0: "batch", 1: "seq"} for n in [*names, "last_hidden_state"]},
                opset_version=17,
            )
        os.replace(tmp_path, fp32)
    if quantize:
        quantize_int8(fp32, out_dir / "model_int8.onnx")
    return out_dir


def quantize_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantisation of the weights (activations stay float at run time)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    # onnxruntime logs a "consider pre-processing" warning on every call: it is advice only
    logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        tmp_path = Path(tmp) / dst.name
        quantize_dynamic(str(src), str(tmp_path), weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp_path, dst)
    return dst


class OnnxEncoder:
    """``encode`` like SentenceTransformer's, on onnxruntime; thread-safe."""

    def __init__(
        self,
        model_dir: str | Path,
        quantized: bool = True,
        threads: int | None = 1,
        cache_dir: str | Path | None = None,
        max_seq_length: int | None = None,
    ):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.layout = _Layout(Path(model_dir))
        self.kind = "onnx-int8" if quantized else "onnx"
        filename = "model_int8.onnx" if quantized else "model.onnx"
        shipped = self.layout.model_dir / "onnx" / filename
        if shipped.is_file():
            path = shipped
        else:
            folder = Path(cache_dir or default_cache_dir()) / self.layout.weights_hash()
            path = folder / filename
            if not path.is_file():
                if (folder / "model.onnx").is_file() and quantized:
                    quantize_int8(folder / "model.onnx", path)
                else:
                    export_onnx(self.layout.model_dir, folder, quantize=quantized)
        self.path = path
        opts = ort.SessionOptions()
        # Threads per call: the server passes 2 (benchmarks/results/serving.md: 7.2 ms per
        # text against 9.3 ms on one thread, and 1.6x the throughput at 8 requests in flight).
        if threads:
            opts.intra_op_num_threads = threads
        # Idle pool threads spin by default: in a server they would take the core that the
        # event loop needs for HTTP and JSON between two encoder calls.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        tok_file = self.layout.transformer_dir / "tokenizer.json"
        if not tok_file.is_file():
            raise UsageError(f"{tok_file}: missing (the ONNX encoder needs a fast tokenizer)")
        self.tokenizer = Tokenizer.from_file(str(tok_file))
        self.max_seq_length = capped_length(max_seq_length, self.layout.max_seq_length)
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.tokenizer.enable_padding(pad_id=pad_id if pad_id is not None else 0)
        self._local = threading.local()

    @property
    def last_timings(self) -> dict[str, float]:
        """Seconds of the last call on this thread, by stage (servers encode on several)."""
        return getattr(self._local, "timings", {})

    @property
    def prompts(self) -> dict[str, str]:
        return self.layout.prompts

    def _prompt(self, prompt: str | None, prompt_name: str | None) -> str:
        if prompt is not None:
            return prompt
        name = prompt_name or self.layout.default_prompt_name
        if name is None:
            return ""
        if name not in self.layout.prompts:
            raise ValueError(f"prompt name {name!r} not in {sorted(self.layout.prompts)}")
        return self.layout.prompts[name]

    def encode(
        self,
        sentences: str | Sequence[str],
        prompt: str | None = None,
        prompt_name: str | None = None,
        batch_size: int = 32,
        normalize_embeddings: bool = False,
        convert_to_numpy: bool = True,
        show_progress_bar: bool | None = None,
        **_: Any,
    ) -> np.ndarray:
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        prefix = self._prompt(prompt, prompt_name)
        if prefix:
            texts = [prefix + t for t in texts]
        out = np.zeros((0, 0), dtype=np.float32)
        parts = []
        t_tok = t_enc = 0.0
        for start in range(0, len(texts), max(1, batch_size)):
            t0 = time.perf_counter()
            batch = self.tokenizer.encode_batch(texts[start : start + batch_size])
            ids = np.array([e.ids for e in batch], dtype=np.int64)
            mask = np.array([e.attention_mask for e in batch], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.input_names:
                feeds["token_type_ids"] = np.array([e.type_ids for e in batch], dtype=np.int64)
            t1 = time.perf_counter()
            (hidden,) = self.session.run(None, feeds)
            parts.append(self._pool(hidden, mask))
            t_enc += time.perf_counter() - t1
            t_tok += t1 - t0
        if parts:
            out = np.concatenate(parts).astype(np.float32, copy=False)
        if self.layout.normalize or normalize_embeddings:
            out = out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        self._local.timings = {"tokenize": t_tok, "encode": t_enc}
        return out[0] if single else out

    def encode_query(self, sentences: str | Sequence[str], **kwargs: Any) -> np.ndarray:
        # SentenceTransformer.encode_query: the "query" prompt when the model has one
        if kwargs.get("prompt") is None and kwargs.get("prompt_name") is None:
            kwargs["prompt_name"] = "query" if "query" in self.layout.prompts else None
        return self.encode(sentences, **kwargs)

    def encode_document(self, sentences: str | Sequence[str], **kwargs: Any) -> np.ndarray:
        if kwargs.get("prompt") is None and kwargs.get("prompt_name") is None:
            kwargs["prompt_name"] = "document" if "document" in self.layout.prompts else None
        return self.encode(sentences, **kwargs)

    def _pool(self, hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.layout.pooling == "cls":
            return hidden[:, 0]
        if self.layout.pooling == "lasttoken":
            last = mask.sum(axis=1) - 1
            return hidden[np.arange(hidden.shape[0]), last]
        m = mask[..., None].astype(hidden.dtype)
        if self.layout.pooling == "max":
            return np.where(m > 0, hidden, -1e9).max(axis=1)
        return (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)


def load_encoder(
    model_dir: str | Path,
    kind: str = "onnx-int8",
    threads: int | None = 1,
    cache_dir: str | Path | None = None,
    max_seq_length: int | None = None,
) -> Encoder:
    """A torch SentenceTransformer or an OnnxEncoder for the same folder.

    ``max_seq_length`` truncates texts to fewer tokens than the model allows: encoding time
    grows with tokens, so a server can trade the tail of long texts for speed (measured in
    benchmarks/bench_serving.py, rankings included).
    """
    if kind not in ENCODER_KINDS:
        raise UsageError(f"encoder: {kind!r} is not one of {', '.join(ENCODER_KINDS)}")
    if kind == "torch":
        import torch
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        model = SentenceTransformer(str(model_dir), device="cpu")
        model.max_seq_length = capped_length(max_seq_length, model.max_seq_length)
        return model
    quantized = kind == "onnx-int8"
    return OnnxEncoder(model_dir, quantized=quantized, threads=threads, cache_dir=cache_dir,
                       max_seq_length=max_seq_length)  # fmt: skip


class CachedEncoder:
    """An LRU cache of query embeddings in front of any encoder, keyed by the exact text.

    Profiles repeat (a user reloading the app, the same form re-sent by a retry) and the text
    the encoder sees leaves out the user id, so identical forms share one entry. Only
    ``encode_query`` is cached: it is the serving hot path. Thread-safe.
    """

    def __init__(self, inner: Any, max_entries: int = 4096):
        from collections import OrderedDict

        self.inner = inner
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def encode_query(self, sentences: str | Sequence[str], **kwargs: Any) -> np.ndarray:
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        opts = tuple(sorted((k, repr(v)) for k, v in kwargs.items()))
        keys = [(t, opts) for t in texts]
        found: dict[int, np.ndarray] = {}
        with self._lock:
            for i, key in enumerate(keys):
                vec = self._cache.get(key)
                if vec is not None:
                    self._cache.move_to_end(key)
                    found[i] = vec
            self.hits += len(found)
            self.misses += len(texts) - len(found)
        missing = [i for i in range(len(texts)) if i not in found]
        if missing:
            fresh = np.asarray(self.inner.encode_query([texts[i] for i in missing], **kwargs))
            with self._lock:
                for i, vec in zip(missing, fresh, strict=True):
                    vec = np.array(vec, dtype=np.float32)
                    vec.flags.writeable = False  # shared between requests: never mutated
                    found[i] = vec
                    if self.max_entries > 0:
                        self._cache[keys[i]] = vec
                        self._cache.move_to_end(keys[i])
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
        out = np.stack([found[i] for i in range(len(texts))]) if texts else np.zeros((0, 0))
        return out[0] if single else out
