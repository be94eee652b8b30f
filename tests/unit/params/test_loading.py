import re

import pytest
import yaml

from synthgov.errors import ParamsError
from synthgov.params import load_params


def _edit(params_dir, name, **changes):
    path = params_dir / f"{name}.yaml"
    content = yaml.safe_load(path.read_text())
    content.update(changes)
    path.write_text(yaml.safe_dump(content))
    return path


@pytest.mark.parametrize("name, changes, message", [
    # a negative epsilon is refused at load, naming the key
    ("privacy", {"epsilon": -1}, "key 'epsilon': Input should be greater than 0"),
    # a typo in a key is refused, not ignored
    ("train", {"epoch": 3}, "key 'epoch': Extra inputs are not permitted"),
    # a gate nobody knows
    ("gates", {"tstr_ratoi": {"threshold": 0.9}}, "unknown gate(s) ['tstr_ratoi']"),
    # a sample rate above 1
    ("train", {"sample_rate": 1.5}, "key 'sample_rate': Input should be less than or equal to 1"),
])
def test_invalid_value_names_file_and_key(params_dir, name, changes, message):
    # Setup
    path = _edit(params_dir, name, **changes)
    # Run / Assert
    with pytest.raises(ParamsError, match=re.escape(str(path))) as exc:
        load_params(params_dir)
    assert message in str(exc.value)


def test_target_must_be_declared(params_dir):
    _edit(params_dir, "data", target="salary")
    with pytest.raises(ParamsError, match=re.escape("data.target 'salary' is not a column in schema.yaml")):
        load_params(params_dir)


def test_missing_file_is_named(params_dir):
    (params_dir / "gates.yaml").unlink()
    with pytest.raises(ParamsError, match=re.escape(f"{params_dir / 'gates.yaml'}: params file is missing")):
        load_params(params_dir)


def test_override_is_validated_again(params_dir):
    with pytest.raises(ParamsError, match="epsilon"):
        load_params(params_dir, {"privacy.epsilon": 0.0})
    assert load_params(params_dir, {"privacy.epsilon": 3.0}).privacy.epsilon == 3.0


@pytest.mark.parametrize("n", [100, 1000, 32561, 50_000, 3_300_000])
def test_default_delta_never_exceeds_one_over_ten_n(params, n):
    assert params.delta_for(n) <= min(1e-5, 1 / (10 * n))
    assert params.delta_for(n) == pytest.approx(min(1e-5, 1 / (10 * n)))


@pytest.mark.parametrize("change, message", [
    # a label of education without its code
    (lambda s: s["education_num"]["derived_map"].pop("Doctorate"), "missing ['Doctorate']"),
    # derived from a numeric column
    (lambda s: s["education_num"].update(derived_from="age"), "must name a categorical column"),
    # a code outside the column's bounds
    (lambda s: s["education_num"]["derived_map"].update(Doctorate=17), "numbers within [lower, upper]"),
    # a map without its source
    (lambda s: s["education_num"].pop("derived_from"), "needs both 'derived_from'"),
])
def test_a_derived_column_is_checked_against_its_source(params_dir, change, message):
    path = params_dir / "schema.yaml"
    schema = yaml.safe_load(path.read_text())
    change(schema)
    path.write_text(yaml.safe_dump(schema))
    with pytest.raises(ParamsError, match=re.escape(str(params_dir))) as exc:
        load_params(params_dir)
    assert message in str(exc.value) and "schema.yaml: column 'education_num'" in str(exc.value)
