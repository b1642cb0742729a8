"""Contracts and run configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from urtraining.config import ConfigError, first_error, load_config, parse_overrides
from urtraining.domain import SCHEMA_MODELS, Course, UserProfile

PROFILE = {
    "user_id": "u1",
    "age": 30,
    "sex": "female",
    "height_cm": 170,
    "weight_kg": 65,
    "goals": ["endurance"],
    "experience_level": "beginner",
    "preferred_activities": ["running"],
    "equipment": [],
    "sessions_per_week": 3,
    "session_minutes": 30,
    "injuries": [],
    "notes": "",
}


def test_every_contract_has_a_json_schema():
    for name, model in SCHEMA_MODELS.items():
        schema = model.model_json_schema()
        assert schema["type"] == "object", name
        assert schema["properties"], name
    assert set(UserProfile.model_json_schema()["required"]) >= {"user_id", "age", "goals"}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"age": 12}, "age"),
        ({"goals": []}, "goals"),
        ({"goals": ["fly"]}, "goals.0"),
        ({"height_cm": 300}, "height_cm"),
        ({"favourite": "x"}, "favourite"),
        ({"goals": ["strength", "strength"]}, "goals"),
    ],
)
def test_invalid_profile_names_the_field(patch, field):
    with pytest.raises(ValidationError) as exc:
        UserProfile.model_validate({**PROFILE, **patch})
    assert first_error(exc.value).startswith(field)


def test_course_type_must_match_sport(smoke_data):
    course = smoke_data[2][0].model_dump()
    course["type"] = "swimming" if course["sport"] != "swimming" else "gym"
    with pytest.raises(ValidationError, match="does not match sport"):
        Course.model_validate(course)


def test_config_layers_file_env_and_set(tmp_path, monkeypatch):
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("synth:\n  n_users: 11\ntrain:\n  epochs: 3\n")
    monkeypatch.setenv("URTRAINING_TRAIN__EPOCHS", "4")
    cfg = load_config(cfg_file, ["synth.n_courses=9"])
    assert (cfg.synth.n_users, cfg.synth.n_courses, cfg.train.epochs) == (11, 9, 4)
    assert load_config(cfg_file, ["train.epochs=5"]).train.epochs == 5


@pytest.mark.parametrize(
    ("text", "sets", "needle"),
    [
        ("train:\n  loss: wrong\n", [], "train.loss"),
        ("synth:\n  n_users: 0\n", [], "synth.n_users"),
        ("nope: 1\n", [], "nope"),
        ("a: [\n", [], "not valid YAML"),
        ("", ["x"], "key=value"),
    ],
)
def test_bad_config_is_one_line_naming_the_field(tmp_path, text, sets, needle):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_config(f, sets)
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_overrides_parse_yaml_values():
    assert parse_overrides(["a.b=2", "a.c=true", "d=x"]) == {"a": {"b": 2, "c": True}, "d": "x"}
