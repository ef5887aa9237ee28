"""Cleaning: one test per kind of web boilerplate found in the seeds, plus headline, date and outlet."""

from __future__ import annotations

import pytest

from mali_qa.ingest.clean import boilerplate_kind, clean_text, markdown_to_text
from mali_qa.ingest.corpus import parse_article

BODY = (
    "Russian soldiers arrived in the northern city to train Malian troops, the army spokesman said on Friday."
)


def _body(raw: str) -> str:
    return clean_text(raw).body


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("Source link", "source_link"),
        ("Comments are closed.", "comments_notice"),
        ("Leave a Reply", "comments_notice"),
        ("Your email address will not be published. Required fields are marked *", "comments_notice"),
        ("Related Articles", "related_articles"),
        ("Check Also", "related_articles"),
        ("Back to top button", "back_to_top"),
        ("XS", "text_size_widget"),
        ("LG", "text_size_widget"),
        ("Forum", "share_widget"),
        ("See them", "share_widget"),
        ("Accessibility links", "accessibility"),
        ("Breaking News", "breaking_news_banner"),
        ("This website uses cookies to improve your experience. Accept Read More", "cookie_notice"),
        ("Post Disclaimer", "syndication_disclaimer"),
    ],
)
def test_each_boilerplate_kind_is_recognized(line: str, kind: str) -> None:
    assert boilerplate_kind(line) == kind


def test_article_sentences_are_not_boilerplate() -> None:
    assert boilerplate_kind(BODY) is None
    assert boilerplate_kind("Messy relationship") is None


def test_source_link_ends_the_article_and_drops_the_footer() -> None:
    raw = f"Headline of the story here\n\n{BODY}\n\nSource link\n\nKig News: Update the world's latest news\n"
    cleaned = clean_text(raw)
    assert cleaned.body == BODY
    assert "Kig News" not in cleaned.body
    assert cleaned.outlet == ""  # a spam footer's name is no outlet (ingest/metadata.py)


def test_comments_notice_is_removed() -> None:
    assert _body(f"A headline with four words\n{BODY}\nComments are closed.") == BODY


def test_related_articles_and_back_to_top_are_removed() -> None:
    raw = f"A headline with four words\n{BODY}\nRelated Articles\nCheck Also\nBack to top button"
    assert _body(raw) == BODY


def test_cookie_notice_is_removed() -> None:
    raw = f"A headline with four words\n{BODY}\nThis website uses cookies to improve your experience. Accept"
    assert _body(raw) == BODY


def test_syndication_disclaimer_is_removed_and_names_the_outlet() -> None:
    raw = (
        f"A headline with four words\n{BODY}\n\nPost Disclaimer\n\n(This story #X. Has not been edited by "
        "Axadle Staff and has been auto-generated from the Syndicate feed.) while we endeavor to keep ..."
    )
    cleaned = clean_text(raw)
    assert cleaned.body == BODY
    assert cleaned.outlet == "Axadle"


def test_text_size_and_forum_widgets_are_removed() -> None:
    assert _body(f"A headline with four words\n{BODY}\nForum\nXS\nSM\nMD\nLG") == BODY


def test_comment_form_and_share_label_are_removed() -> None:
    raw = f"A headline with four words\n{BODY}\nSee them\n\nLeave a Reply\nYour email address will not be published."
    assert _body(raw) == BODY


def test_headline_after_accessibility_links_and_banner() -> None:
    raw = f"Accessibility links\n\nBreaking News\n\nMali and Russia Troops Relocate After UN Exit\n\n{BODY}"
    cleaned = clean_text(raw)
    assert cleaned.title == "Mali and Russia Troops Relocate After UN Exit"
    assert cleaned.body == BODY


def test_headline_after_a_date_line_and_a_year_less_date_is_no_date() -> None:
    cleaned = clean_text(
        f"Tuesday, October 19\n\nMali requests the intervention of Russian mercenaries\n\n{BODY}"
    )
    assert cleaned.title == "Mali requests the intervention of Russian mercenaries"
    assert cleaned.date == "" and cleaned.body == BODY  # a site's banner of the day, not the article's date
    dated = clean_text(f"19 October 2021\n\nMali requests the intervention of Russian mercenaries\n\n{BODY}")
    assert dated.date == "2021-10-19" and dated.body == BODY


def test_section_suffix_is_dropped_from_the_headline() -> None:
    cleaned = clean_text(
        f"Last French troops leave Mali, ending nine-year deployment | Conflict News\n\n{BODY}"
    )
    assert cleaned.title == "Last French troops leave Mali, ending nine-year deployment"


def test_repeated_caption_is_kept_once() -> None:
    caption = "FILE - A French soldier joins MINUSMA troops in Mali, July 1, 2013."
    assert _body(f"A headline with four words\n{caption}\n{caption}\n{BODY}") == f"{caption}\n\n{BODY}"


def test_markdown_is_reduced_to_text() -> None:
    text = markdown_to_text("# Title here now\n\nSome **bold** and [a link](http://x) text.")
    assert "Title here now" in text and "Some bold and a link text." in text


def test_html_goes_through_the_article_extractor() -> None:
    html = (
        "<html><head><title>Russian advisers arrive in Mali</title></head><body><nav>Home | World</nav>"
        f"<article><h1>Russian advisers arrive in Mali</h1><p>{BODY}</p><p>{BODY.replace('Friday', 'Monday')}</p>"
        "</article><footer>Cookie settings</footer></body></html>"
    )
    article = parse_article("x", html, ".html")
    assert article.title == "Russian advisers arrive in Mali"
    assert BODY in article.text
    assert "Home | World" not in article.text
