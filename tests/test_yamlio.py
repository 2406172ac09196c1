"""The one safe YAML loader, and the configurable limits."""
import pytest

from dqm.errors import DQMError, ModelError
from dqm.limits import limit, reset_limits, set_limits
from dqm.yamlio import load_yaml, load_yaml_text


def test_plain_yaml_reads():
    assert load_yaml_text("a: 1\nb: [x, {c: 2}]\nd: '[[[['  # [[[\n") == {"a": 1, "b": ["x", {"c": 2}], "d": "[[[["}


@pytest.mark.parametrize("text, fragment", [
    ("a: &x [1, 2]\nb: *x\n", "anchors (&x) are not allowed"),
    ("a: [1, 2]\nb: *x\n", "aliases (*x) are not allowed"),
    ("a: 1\na: 2\n", "the key 'a' is given twice"),
    ("x: " + "[" * 3000 + "]" * 3000, "nested more than 100 levels"),
    ("a: [1, 2\n", "not valid YAML at line"),
    ("? [a, b]\n: 1\n", "a mapping key must be a plain value"),
])
def test_refused(text, fragment):
    with pytest.raises(DQMError) as exc:
        load_yaml_text(text)
    assert fragment in str(exc.value)


def test_a_billion_laughs_is_refused_at_once():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
    with pytest.raises(DQMError, match="anchors"):
        load_yaml_text(bomb)


def test_files(tmp_path, monkeypatch):
    p = tmp_path / "m.yaml"
    p.write_bytes(b"a: caf\xe9\n")
    with pytest.raises(ModelError, match="not UTF-8 text: byte 0xe9 at line 1"):
        load_yaml(p, error=ModelError, what="model file")
    p.write_text("a: 1\n" * 1000)
    monkeypatch.setenv("DQM_MAX_YAML_KB", "1")
    with pytest.raises(DQMError, match="more than the limit of 1 KB"):
        load_yaml(p)
    with pytest.raises(DQMError, match="folder"):
        load_yaml(tmp_path)


def test_limits_defaults_env_and_overrides(monkeypatch):
    assert limit("max_cell_chars") == 32767
    monkeypatch.setenv("DQM_MAX_ROWS", "10")
    assert limit("max_rows") == 10
    set_limits(max_rows=5)
    try:
        assert limit("max_rows") == 5
    finally:
        reset_limits()
    monkeypatch.setenv("DQM_MAX_ROWS", "-3")
    with pytest.raises(DQMError, match="DQM_MAX_ROWS"):
        limit("max_rows")
