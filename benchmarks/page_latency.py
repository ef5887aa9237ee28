"""Page latency in a real browser: `streamlit run app.py` to the chat box and to the first answer (several
cold starts, median), Enter to the first words of a warm answer, and one model load per server process.

Usage:
    .venv/bin/python benchmarks/page_latency.py [--vectorstore vectorstore] [--runs 5] [--questions 8]
Writes benchmarks/results/page_latency.json. Needs /usr/bin/chromium and /usr/bin/chromedriver.
Each run starts a fresh headless Chromium first (the visitor's browser is already open), then the server,
loads the page as soon as the server is healthy and asks as soon as the chat box can be typed in.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mali_qa.server.process import free_port, stop, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "page_latency.json"
LOAD_LINE = "mali-qa page: loaded the index and model"
FIRST_QUESTION = "When did France leave Mali?"
WARM_QUESTIONS = (
    "Why are Russian soldiers in Timbuktu?",
    "How many French soldiers were killed in Mali?",
    "How many troops did France have in Mali in February?",
    "Who won the 2022 FIFA World Cup?",
    "When did Russian trainers arrive in Mali?",
    "Where did the French forces go after Mali?",
    "Why did France leave?",
    "What is Operation Barkhane?",
)
TARGETS = {"start_to_chat_box_s": 2.0, "start_to_first_answer_s": 4.0, "enter_to_first_words_ms": 300.0}

# Installed before Enter is pressed: records when Enter goes down and when the new answer shows its first words.
OBSERVE_JS = """
window.__t0 = null; window.__t1 = null;
const before = document.querySelectorAll('[data-testid="stChatMessage"]').length;
const check = () => {
  if (window.__t0 === null || window.__t1 !== null) return;
  const msgs = document.querySelectorAll('[data-testid="stChatMessage"]');
  if (msgs.length < before + 2) return;
  const md = msgs[msgs.length - 1].querySelector('[data-testid="stMarkdownContainer"]');
  if (md && md.innerText.trim().length > 0) { window.__t1 = performance.now(); observer.disconnect(); }
};
const observer = new MutationObserver(check);
observer.observe(document.body, {childList: true, subtree: true, characterData: true});
const box = document.querySelector('[data-testid="stChatInputTextArea"]');
box.addEventListener('keydown', (e) => { if (e.key === 'Enter' && window.__t0 === null) window.__t0 = performance.now(); });
"""


def start_browser(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage", "--window-size=1280,1257", f"--user-data-dir={profile}",
    ):  # fmt: skip
        options.add_argument(arg)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def message_count(driver: Any) -> int:
    from selenium.webdriver.common.by import By

    return len(driver.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]'))


def wait_answer(driver: Any, count_before: int, timeout: float = 120.0) -> float:
    """Poll until the new assistant message shows its sources (or an abstention); returns monotonic time."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stChatMessage"]')
        if len(messages) >= count_before + 2:
            try:
                text = messages[-1].text
            except Exception:  # a stale element while the page re-renders
                text = ""
            if "Sources" in text or "don't say" in text:
                return time.monotonic()
        time.sleep(0.01)
    raise TimeoutError("no answer in the browser")


IDLE_JS = """
return document.querySelectorAll('[data-stale="true"]').length === 0
    && document.querySelectorAll('[data-testid="stStatusWidget"]').length === 0;
"""


def wait_idle(driver: Any, timeout: float = 60.0) -> None:
    """Until the script run is over: no stale elements left, no running indicator."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not driver.execute_script(IDLE_JS):
        time.sleep(0.05)


def ask(driver: Any, question: str) -> dict[str, float]:
    """Type `question`, press Enter; ms to the first words (in the page's clock) and to the full answer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]')
    box.send_keys(question)
    before = message_count(driver)
    driver.execute_script(OBSERVE_JS)
    pressed = time.monotonic()
    box.send_keys(Keys.ENTER)
    done = wait_answer(driver, before)
    wait_idle(driver)
    t0, t1 = driver.execute_script("return [window.__t0, window.__t1];")
    return {
        "first_words_ms": round(t1 - t0, 1) if t0 is not None and t1 is not None else float("nan"),
        "full_answer_ms": round((done - pressed) * 1000, 1),
    }


def cold_start(
    env: dict[str, str], tmp: Path, run: int, warm_questions: int, screenshot: Path | None
) -> dict[str, Any]:
    """One server start in front of an open browser: the times to healthy, to the chat box and to the first
    answer; with `warm_questions`, then warm questions, a reload, and the server log's model loads."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / f"streamlit-{run}.log"
    driver = start_browser(tmp / f"profile-{run}")  # the user's browser is already open
    log = log_path.open("wb")
    command = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    result: dict[str, Any] = {}
    try:
        wait_healthy(f"{url}/_stcore/health", proc, name="streamlit", timeout=60.0, poll=0.02)
        healthy = time.monotonic()
        driver.get(url)
        box = WebDriverWait(driver, 120, poll_frequency=0.02).until(
            ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]'))
        )
        input_ready = time.monotonic()
        box.send_keys(FIRST_QUESTION)
        box.send_keys(Keys.ENTER)
        first_answer = wait_answer(driver, 0)
        result = {
            "start_to_healthy_s": round(healthy - started, 2),
            "start_to_chat_box_s": round(input_ready - started, 2),
            "start_to_first_answer_s": round(first_answer - started, 2),
        }
        if screenshot:
            wait_idle(driver)
            time.sleep(0.3)  # let the last elements paint
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
        if warm_questions:
            wait_idle(driver)
            result["warm"] = [ask(driver, q) for q in WARM_QUESTIONS[:warm_questions]]
            driver.get(
                url
            )  # a new session (a reload would restore this conversation): the index stays loaded
            WebDriverWait(driver, 60).until(
                ec.element_to_be_clickable((By.CSS_SELECTOR, '[data-testid="stChatInputTextArea"]'))
            )
            result["after_new_session"] = ask(driver, FIRST_QUESTION)
    except Exception:
        driver.save_screenshot(str(Path(tempfile.gettempdir()) / "page-latency-failure.png"))
        print(log_path.read_text(encoding="utf-8", errors="replace")[-3000:], file=sys.stderr)
        raise
    finally:
        driver.quit()
        stop(proc, timeout=10.0)
        log.close()
    loads = [
        line
        for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        if LOAD_LINE in line
    ]
    result["model_load_lines"] = loads
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="cold starts to time (the median is reported)")
    parser.add_argument("--questions", type=int, default=len(WARM_QUESTIONS), help="warm questions to time")
    parser.add_argument("--screenshot", type=Path, help="save the page after the first answer here")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--vectorstore",
        type=Path,
        help="a built index to serve (e.g. vectorstore); default: build one from the seeds in a temp folder",
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONUNBUFFERED": "1",
        "MALI_QA_ENGINE": "offline",
    }
    # Context for the cold start: what importing the package's answering half costs on this machine now.
    began = time.monotonic()
    subprocess.run([sys.executable, "-c", "import mali_qa.service"], env=env, check=True)
    import_seconds = time.monotonic() - began
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="page-latency-") as tmp:
        env["MALI_QA_FEEDBACK_FILE"] = str(Path(tmp) / "feedback.jsonl")
        if args.vectorstore is None:
            from mali_qa import Settings
            from mali_qa.library import reingest

            store = Path(tmp) / "vectorstore"
            print(f"building the index in {store} (not timed)", file=sys.stderr)
            reingest(Settings.from_env(env_file=os.devnull, vectorstore_dir=store, engine="offline"))
            env["MALI_QA_VECTORSTORE_DIR"] = str(store)
        else:
            env["MALI_QA_VECTORSTORE_DIR"] = str(args.vectorstore.resolve())
        runs = []
        for run in range(args.runs):
            last = run == args.runs - 1
            runs.append(
                cold_start(
                    env, Path(tmp), run, args.questions if last else 0, args.screenshot if last else None
                )
            )
            print(
                f"run {run + 1}: " + json.dumps({k: v for k, v in runs[-1].items() if k.endswith("_s")}),
                file=sys.stderr,
            )

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)

    warm = runs[-1]["warm"]
    loads = runs[-1]["model_load_lines"]
    first_words = [w["first_words_ms"] for w in warm]
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1_5_15_before": [round(x, 2) for x in load_before],
            "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "engine": "offline",
        "import_mali_qa_service_s": round(import_seconds, 2),
        "runs": len(runs),
        "start_to_healthy_s": median("start_to_healthy_s"),
        "start_to_chat_box_s": median("start_to_chat_box_s"),
        "start_to_first_answer_s": median("start_to_first_answer_s"),
        "cold_starts": [{k: v for k, v in r.items() if k.endswith("_s")} for r in runs],
        "enter_to_first_words_ms": {
            "median": round(statistics.median(first_words), 1),
            "max": round(max(first_words), 1),
            "samples": first_words,
        },
        "enter_to_full_answer_ms_median": round(statistics.median(w["full_answer_ms"] for w in warm), 1),
        "after_new_session": runs[-1]["after_new_session"],
        "model_loads": len(loads),
        "model_load_lines": loads,
        "targets": TARGETS,
        "meets": {
            "start_to_chat_box_s": median("start_to_chat_box_s") <= TARGETS["start_to_chat_box_s"],
            "start_to_first_answer_s": median("start_to_first_answer_s")
            <= TARGETS["start_to_first_answer_s"],
            "enter_to_first_words_ms": statistics.median(first_words) < TARGETS["enter_to_first_words_ms"],
            "one_model_load": len(loads) == 1,
        },
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
