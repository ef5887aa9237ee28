"""Round 2 of the reliability work (issue 27), the index: a running process picks up another process's
ingest, writes go to Chroma in batches it accepts, a failed or damaged ingest never takes a working index
offline, ingest checks its files against the manifest's checksums, an exact identifier survives fusion, and
hidden HTML is not indexed."""

from __future__ import annotations

from mali_qa.ingest.corpus import parse_article

HIDDEN_HTML = """<html><head><title>Convoys reach Gao</title></head><body><article>
<h1>Convoys reach Gao</h1>
<p>The first convoy of the dry season reached Gao on Monday after a week on the road from Bamako.</p>
<div hidden><p>PLANTED-HIDDEN-ONE: the hidden division says the convoy carried gold bars.</p></div>
<template><p>PLANTED-TEMPLATE: the template says the convoy was turned back at Mopti.</p></template>
<noscript><p>PLANTED-NOSCRIPT: the noscript block says the drivers went on strike.</p></noscript>
<p style="color: red; display : none">PLANTED-STYLE: the invisible paragraph says the road was closed.</p>
<div aria-hidden="true"><p>PLANTED-ARIA: the aria-hidden block says a bridge collapsed.</p></div>
<p>Local traders said prices of rice and millet fell in the market the day after the trucks arrived.</p>
<p>The governor thanked the drivers and said a second convoy would leave Bamako within the month.</p>
</article></body></html>"""


def test_hidden_html_is_not_indexed_as_text() -> None:
    article = parse_article("convoys", HIDDEN_HTML, ".html")
    assert "reached Gao on Monday" in article.text
    assert "second convoy would leave Bamako" in article.text
    assert "PLANTED" not in article.text, article.text
