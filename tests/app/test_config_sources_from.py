"""plan.sources_from in a config: the command line's NAME,NAME form, and unknown names refused before any work."""
import pytest

from transfergraph.config import META_BACKBONE_NODE, parse_config
from transfergraph.planner.common.exceptions import ConfigError

BASE = {"data": {"dataset": "digits"}, "tasks": [{"name": "a", "classes": [0, 1]}, {"name": "b", "classes": [2, 3]}],
        "models": {"external": [{"name": "ext", "classes": [0, 1, 2, 3]}]}}


def _config(sources_from, **models):
    return parse_config({**BASE, "models": {**BASE["models"], **models}, "plan": {"sources_from": sources_from}})


@pytest.mark.parametrize("given, read", [("ext,a", ["ext", "a"]), ("ext", ["ext"]), (["a"], ["a"]),
                                         ("external", "external"), ("tasks", "tasks")])
def test_names_comma_separated_or_listed_and_keywords(given, read):
    assert _config(given).plan.sources_from == read


def test_an_unknown_name_is_refused_naming_the_key_and_the_known_nodes():
    with pytest.raises(ConfigError) as info:
        _config("ext,nosuch")
    text = str(info.value)
    assert "plan.sources_from names ['nosuch']" in text and "['a', 'b', 'ext']" in text


def test_the_meta_backbone_is_a_source_node_only_when_meta_is_enabled():
    with pytest.raises(ConfigError, match="plan.sources_from names"):
        _config(META_BACKBONE_NODE)
    assert _config(META_BACKBONE_NODE, meta={"enabled": True}).plan.sources_from == [META_BACKBONE_NODE]


def test_the_backbone_node_name_matches_the_meta_adapter():
    from transfergraph.adapters.meta.sources import BACKBONE_SOURCE

    assert META_BACKBONE_NODE == BACKBONE_SOURCE


def test_an_empty_name_is_refused():
    with pytest.raises(ConfigError, match=r"got \['ext', ''\]"):
        _config("ext,")
