"""A model id may be any identifier its pack allows, Chinese too: the report links each to its own.

Element ids are slugs of model ids; a slug that is not one-to-one would send two models'
links to one article. The sample page (report_sample.py) gets three models whose ids are
not of the form ENG01, one of them spelled as the slug of another used to be.
"""

from __future__ import annotations

from dataclasses import replace

import pyarrow as pa
from report_dom import parse
from report_sample import sample

from engine.reporting.report import ModelInfo, render

NEW_IDS = ["采购01", "_91c7_8d2d01", "price_outlier"]  # 采购01 was model-_91c7_8d2d01 too


def test_each_model_id_links_to_its_own_article_and_reads_as_written() -> None:
    data = sample("2021")
    template = data.models[0]
    models = [
        replace(template, id=model_id, title=f"模型{n}", rule_text=f"model {model_id} {{}}")
        for n, model_id in enumerate(NEW_IDS)
    ]
    first = data.warnings.to_pylist()[0]
    rows = [
        {**first, "model_id": m.id, "warning_key": f"K-{n}", "model_title": m.title}
        for n, m in enumerate(models)
    ]
    extra = pa.Table.from_pylist(rows, schema=data.warnings.schema)
    data = replace(
        data,
        models=[*data.models, *models],
        warnings=pa.concat_tables([data.warnings, extra]),
    )
    dom = parse(render(data))

    anchors: dict[str, str] = {}
    for row in dom.find_all("tr", "warning"):
        model_id = row.attrs["data-model"]
        if model_id in NEW_IDS:
            link = row.find("a", "model-link")
            assert link.text() == model_id
            anchors[model_id] = link.attrs["href"].removeprefix("#")
    assert set(anchors) == set(NEW_IDS)
    assert len(set(anchors.values())) == len(NEW_IDS)
    for model_id, anchor in anchors.items():
        article = dom.by_id(anchor)
        assert article is not None, model_id
        assert model_id in article.find("h3").text()
        assert all(c.isascii() for c in anchor), anchor


def test_the_county_models_keep_their_anchors() -> None:
    data = sample("2021")
    dom = parse(render(data))
    for model in data.models:
        assert isinstance(model, ModelInfo)
        assert dom.by_id(f"model-{model.id}") is not None
