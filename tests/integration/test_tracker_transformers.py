"""The transformers backend on a tiny random Llava built here (no download): the code path
runs end to end, and its garbage answer ends as a clean 'could not read' error."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

from urtraining.tracker import TrackerError, TrackerSettings, track_bytes  # noqa: E402
from urtraining.tracker.backends.hf import TransformersBackend  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>{% else %}{{ c['text'] }}"
    "{% endif %}{% endfor %}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory):
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    words = [
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        '"',
        "entries",
        "content",
        "name",
        "sets",
        "reps",
        "1",
        "2",
        "3",
        "4",
        "5",
        "x",
        "kg",
        "squat",
        "bench",
        "day",
    ]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, "<image>": 3}
    vocab |= {w: i + 4 for i, w in enumerate(words)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<unk>",
    )
    tokenizer.add_tokens(["<image>"], special_tokens=True)
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
    )
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        chat_template=CHAT_TEMPLATE,
        num_additional_image_tokens=1,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=512,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    folder = tmp_path_factory.mktemp("tiny-llava")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), "white").save(buf, "PNG")
    return buf.getvalue()


def test_random_model_runs_the_whole_path_and_fails_cleanly(tiny_vlm):
    settings = TrackerSettings(backend="transformers", hf_model=str(tiny_vlm), vlm_max_tokens=24)
    backend = TransformersBackend(settings)
    # the code path really runs: the model produces text from the image and prompt
    text = backend.generate(Image.new("RGB", (64, 48), "white"))
    assert isinstance(text, str)
    with pytest.raises(TrackerError, match="could not read"):
        track_bytes(_png(), settings, backend=backend)


def test_missing_model_folder_is_a_usage_error():
    with pytest.raises(TrackerError, match="hf_model"):
        TransformersBackend(TrackerSettings(backend="transformers"))
