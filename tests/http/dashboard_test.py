#!/usr/bin/python3
"""Browser test of the dashboard sentryd serves at GET / (docs/observability.md).

Usage: dashboard_test.py --sentryd PATH --sentryctl PATH --out DIR

Starts a real sentryd on free ports in a temporary data directory, creates a
topic, produces a known number of records (acks=all and acks=1) and consumes
them in a group with sentryctl, then opens http://127.0.0.1:PORT/ in headless
Chromium (Debian: python3-selenium, chromium, chromium-driver) and checks:

  - the page draws its charts (<body data-ready="1"> after its second scrape)
    and loads nothing from another origin;
  - the records-in cell of the topic's row shows the produced count;
  - records/s in and out are charted while records are produced and read;
  - the tiles #tile-records-in-total, #tile-bytes-in-total,
    #tile-records-out-total, #tile-bytes-out-total, #tile-connections and
    #tile-topics hold (data-value) exactly the sums of a /metrics scrape the
    test takes (through the page's own origin, so that sentry_connections
    counts the same HTTP connections);
  - the topic table lists the topic (partition rows online), the groups
    table the group with lag 0, the header says connected / ready;
  - dark mode (prefers-color-scheme emulated through DevTools) switches the
    theme;
  - the browser console has no SEVERE entry.

Screenshots: DIR/dashboard.png and DIR/dashboard-dark.png. sentryd is stopped
with SIGTERM at the end, on failure too. Exit 0 on success, 1 on failure
(the reason and the tail of sentryd's log are printed), 2 on bad usage.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

TOPIC = "dashboard-test"
PARTITIONS = 3
GROUP = "dashboard-test-group"
N_ACKS_ALL = 1200  # records produced with acks=-1
N_ACKS_1 = 300  # and with acks=1
N_TOTAL = N_ACKS_ALL + N_ACKS_1
TIMEOUT_S = 240  # the whole test

T0 = time.monotonic()


class Failure(Exception):
    pass


def log(msg):
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def free_port():
    """A TCP port nothing listens on right now (bind port 0, then close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- Prometheus text -------------------------------------------------------

LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_value(s):
    if s in ("+Inf", "Inf"):
        return float("inf")
    if s == "-Inf":
        return float("-inf")
    return float(s)


def parse_metrics(text):
    """[(name, {label: value}, value)] in the order of the text."""
    out = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        if not m:
            raise Failure(f"/metrics: cannot parse line {raw!r}")
        name = m.group(1)
        rest = line[m.end():]
        labels = {}
        if rest.startswith("{"):
            end = 1
            while True:
                lm = LABEL_RE.match(rest, end)
                if not lm:
                    break
                v = lm.group(2)
                v = re.sub(r"\\(.)", lambda x: "\n" if x.group(1) == "n" else x.group(1), v)
                labels[lm.group(1)] = v
                end = lm.end()
            if end >= len(rest) or rest[end] != "}":
                raise Failure(f"/metrics: cannot parse labels of {raw!r}")
            rest = rest[end + 1:]
        fields = rest.split()
        if not fields:
            raise Failure(f"/metrics: no value in {raw!r}")
        out.append((name, labels, parse_value(fields[0])))
    return out


def msum(samples, name, **want):
    """Sum of the series of `name` whose labels include `want`, added in the
    order of the text (as the page adds them: equal doubles), or None."""
    total = None
    for n, labels, v in samples:
        if n == name and all(labels.get(k) == w for k, w in want.items()):
            total = (total or 0.0) + v
    return total


def expected_tiles(text, status):
    """What the tiles must show for one /metrics scrape (see dashboard.js)."""
    samples = parse_metrics(text)
    declared = re.search(r"^#\s*TYPE\s+sentry_log_size_bytes\s", text, re.M) is not None
    if declared or any(n == "sentry_log_size_bytes" for n, _, _ in samples):
        topics = float(len({l.get("topic") for n, l, _ in samples if n == "sentry_log_size_bytes"}))
    else:
        topics = float(status["topics"])
    return {
        "tile-records-in-total": msum(samples, "sentry_records_in_total"),
        "tile-bytes-in-total": msum(samples, "sentry_bytes_in_total"),
        "tile-records-out-total": msum(samples, "sentry_records_out_total"),
        "tile-bytes-out-total": msum(samples, "sentry_bytes_out_total"),
        "tile-connections": msum(samples, "sentry_connections"),
        "tile-topics": topics,
    }


# --- sentryd and sentryctl ---------------------------------------------------


class Broker:
    def __init__(self, sentryd, work):
        self.sentryd = sentryd
        self.work = work
        self.http_port = free_port()
        self.log_path = os.path.join(work, "sentryd.log")
        self.proc = None
        self.native = None

    def start(self):
        cmd = [self.sentryd, "--data-dir", os.path.join(self.work, "data"), "--port", "0",
               "--kafka.port", "-1", "--http.port", str(self.http_port), "--http.host", "127.0.0.1"]
        log("starting " + " ".join(cmd))
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT)
        # Ready means every listener is up: no sleeping on a guess.
        self.wait("GET /health/ready to answer 200", self.ready, 60)
        self.wait("the native listener's port in the log", self.native_port, 10)
        log(f"sentryd ready: http 127.0.0.1:{self.http_port}, native {self.native}")
        if f"Listening for HTTP on 127.0.0.1:{self.http_port}" not in self.log_text():
            log("note: the log has no 'Listening for HTTP on 127.0.0.1:%d' line" % self.http_port)

    def wait(self, what, cond, timeout_s):
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise Failure(f"sentryd exited with code {self.proc.returncode} while waiting for {what}")
            if cond():
                return
            if time.monotonic() > deadline:
                raise Failure(f"timed out after {timeout_s}s waiting for {what}")
            time.sleep(0.1)  # polling interval, not a guess at a duration

    def ready(self):
        try:
            with urllib.request.urlopen(self.url("/health/ready"), timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, ConnectionError, OSError):
            return False  # not listening yet, or 503 (HTTPError is a URLError)

    def native_port(self):
        """The native listener's port: from /v1/status, else from the log."""
        try:
            for listener in json.loads(self.get("/v1/status")).get("listeners", []):
                if listener.get("name") == "native" and int(listener.get("port", 0)) > 0:
                    self.native = f"127.0.0.1:{int(listener['port'])}"
                    return True
        except (urllib.error.URLError, OSError, ValueError, TypeError, AttributeError):
            pass
        m = re.search(r"Listening for producer connections on (\S+):(\d+)", self.log_text())
        if m:
            self.native = f"127.0.0.1:{m.group(2)}"
        return self.native is not None

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def url(self, path):
        return f"http://127.0.0.1:{self.http_port}{path}"

    def get(self, path):
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return r.read().decode("utf-8")

    def stop(self):
        """SIGTERM, then wait; returns the exit code (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log_file.close()


def sentryctl(ctl, broker, *args, stdin=None):
    cmd = [ctl, "--broker", broker.native, *args]
    r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise Failure(f"{' '.join(cmd)} failed with code {r.returncode}:\n{r.stdout}{r.stderr}")
    return r.stdout


# --- the browser -------------------------------------------------------------


def start_browser(work):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1440,900", "--hide-scrollbars", "--no-first-run",
              "--disable-extensions", "--disable-background-networking",
              f"--user-data-dir={os.path.join(work, 'chromium')}"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    service = Service(executable_path=driver_path, log_path=os.path.join(work, "chromedriver.log"))
    return webdriver.Chrome(service=service, options=opts)


def set_color_scheme(driver, scheme):
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"media": "", "features": [{"name": "prefers-color-scheme", "value": scheme}]})


def wait(driver, timeout_s, cond, message):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout_s, poll_frequency=0.1).until(cond)
    except TimeoutException:
        raise Failure(f"timed out after {timeout_s}s: {message() if callable(message) else message}") from None


def body_attr(driver, name):
    return driver.execute_script("return document.body.getAttribute(arguments[0]);", name)


def scrapes(driver):
    return int(body_attr(driver, "data-scrapes") or 0)


def wait_next_scrapes(driver, n=2):
    """Until the page has polled n more times (charts redrawn at the current size)."""
    target = scrapes(driver) + n
    wait(driver, 30, lambda d: scrapes(d) >= target, f"{n} more scrapes by the page (data-scrapes)")


READ_TILES_JS = """
const out = {};
for (const e of document.querySelectorAll('[id^="tile-"][data-value]')) out[e.id] = e.getAttribute('data-value');
return out;
"""

# The test's /metrics scrape goes through the page's origin: the browser's
# connections are then the same as for the page's own scrapes.
FETCH_JS = """
const done = arguments[arguments.length - 1];
fetch(arguments[0], {cache: 'no-store'}).then(r => r.text()).then(done, e => done('ERROR ' + e));
"""


def browser_get(driver, path):
    text = driver.execute_async_script(FETCH_JS, path)
    if text.startswith("ERROR "):
        raise Failure(f"fetch {path} in the page failed: {text}")
    return text


def screenshot(driver, path):
    """The whole page at 1440 px wide: the viewport is set to the page's
    height, and the charts redrawn at that size (two more scrapes) first."""
    for _ in range(3):
        height = min(max(int(driver.execute_script("return Math.ceil(document.documentElement.scrollHeight);")), 900), 8000)
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1440, "height": height, "deviceScaleFactor": 1, "mobile": False})
        wait_next_scrapes(driver)
        if driver.execute_script("return Math.ceil(document.documentElement.scrollHeight);") <= height:
            break
    ok = driver.save_screenshot(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    if not ok:
        raise Failure(f"could not write {path}")
    log(f"saved {path}")


# --- the test ----------------------------------------------------------------


def run(args, work):
    broker = Broker(args.sentryd, work)
    driver = None
    try:
        broker.start()

        # Data: a topic, records with acks=all and acks=1, read by a group.
        sentryctl(args.sentryctl, broker, "topic", "create", TOPIC, "--partitions", str(PARTITIONS))
        sentryctl(args.sentryctl, broker, "produce", TOPIC, "--acks", "-1",
                  stdin="".join(f"record-all-{i}\n" for i in range(N_ACKS_ALL)))
        sentryctl(args.sentryctl, broker, "produce", TOPIC, "--acks", "1",
                  stdin="".join(f"record-one-{i}\n" for i in range(N_ACKS_1)))
        out = sentryctl(args.sentryctl, broker, "consume", TOPIC, "--group", GROUP)
        consumed = len(out.splitlines())
        if consumed != N_TOTAL:
            raise Failure(f"sentryctl consume read {consumed} records, expected {N_TOTAL}")
        log(f"produced and consumed {N_TOTAL} records on {TOPIC} ({PARTITIONS} partitions), group {GROUP}")

        seen = []

        def topic_counted():
            seen[:] = [msum(parse_metrics(broker.get("/metrics")), "sentry_records_in_total", topic=TOPIC)]
            return seen[0] == N_TOTAL

        try:
            broker.wait("/metrics to count the records", topic_counted, 10)
        except Failure:
            raise Failure(f"/metrics: sentry_records_in_total{{topic={TOPIC!r}}} sums to {seen[0]}, expected {N_TOTAL}") from None

        driver = start_browser(work)
        set_color_scheme(driver, "light")
        driver.get(broker.url("/"))
        log("page opened")

        def not_ready():
            banner = driver.execute_script("return document.getElementById('error-banner').textContent;")
            return (f'<body data-ready="1"> (charts drawn after two scrapes); '
                    f"data-scrapes={body_attr(driver, 'data-scrapes')}, banner: {banner!r}")

        wait(driver, 30, lambda d: body_attr(d, "data-ready") == "1", not_ready)
        log(f"charts drawn (data-scrapes={scrapes(driver)})")

        # Everything from this origin: no CDN, no other host.
        foreign = driver.execute_script("""
            return performance.getEntriesByType('resource').map(e => e.name)
                .filter(u => !u.startsWith(location.origin + '/') && !u.startsWith('data:'));""")
        if foreign:
            raise Failure(f"the page loaded resources from elsewhere: {foreign}")
        if not driver.execute_script("return typeof Chart === 'function';"):
            raise Failure("Chart.js (/chart.js) is not loaded")
        charted = driver.execute_script("""
            const out = {};
            for (const c of document.querySelectorAll('canvas[id^="chart-"]')) {
              const ch = Chart.getChart(c);
              out[c.id] = ch ? ch.data.datasets.filter(d => d.data.some(p => p.y !== null)).length : -1;
            }
            return out;""")
        for cid in ("chart-records", "chart-bytes", "chart-queue", "chart-disk", "chart-connections"):
            if charted.get(cid, -1) < 1:
                raise Failure(f"chart {cid} has no series with data: {charted}")

        # The topic row shows the produced count (per-topic records in).
        cell = f'tr.topic-row[data-topic="{TOPIC}"] td[data-col="records-in"]'

        def topic_records_in(d):
            return d.execute_script(
                "const e = document.querySelector(arguments[0]); return e ? e.getAttribute('data-value') : null;", cell)

        wait(driver, 20, lambda d: topic_records_in(d) == str(N_TOTAL),
             lambda: f"the topic row's records-in to show {N_TOTAL}, found {topic_records_in(driver)!r}")

        # Tiles against a scrape taken by the test. A scrape and the page's
        # next one can differ (a connection opening or closing): compare
        # again until they agree.
        last = {}

        def tiles_match(d):
            status = json.loads(browser_get(d, "/v1/status"))
            exp = expected_tiles(browser_get(d, "/metrics"), status)
            got = d.execute_script(READ_TILES_JS)
            last["expected"], last["found"] = exp, {k: got.get(k) for k in exp}
            for k, v in exp.items():
                if v is None:
                    raise Failure(f"/metrics has nothing for {k}")
                g = got.get(k)
                if g in (None, "") or float(g) != v:
                    return False
            return True

        wait(driver, 20, tiles_match, lambda: "tiles equal to the /metrics sums:\n"
             + "\n".join(f"  {k}: expected {v!r}, found {last['found'].get(k)!r}" for k, v in last["expected"].items()))
        log("tiles match /metrics: " + ", ".join(f"{k}={v:g}" for k, v in last["expected"].items()))
        if last["expected"]["tile-records-in-total"] < N_TOTAL:
            raise Failure(f"records in total {last['expected']['tile-records-in-total']} < {N_TOTAL} produced")

        # Topic table: the topic and its partitions, online.
        row = driver.find_elements("css selector", f'tr.topic-row[data-topic="{TOPIC}"]')
        if not row or TOPIC not in row[0].text:
            raise Failure(f"the topic table does not list {TOPIC}")
        parts = row[0].find_element("css selector", 'td[data-col="partitions"]').get_attribute("data-value")
        if parts != str(PARTITIONS):
            raise Failure(f"the topic table shows {parts!r} partitions for {TOPIC}, expected {PARTITIONS}")
        prow = f'tr.partition-row[data-topic="{TOPIC}"][data-partition]'
        wait(driver, 20, lambda d: len(d.find_elements("css selector", prow)) == PARTITIONS,
             lambda: f"{PARTITIONS} partition rows of {TOPIC} (found {len(driver.find_elements('css selector', prow))})")
        offline = driver.find_elements("css selector", prow + '[data-offline="1"]')
        if offline:
            raise Failure(f"{len(offline)} partitions of {TOPIC} shown OFFLINE")

        # Groups table: the group, nothing left to read.
        glag = f'tr.group-row[data-group="{GROUP}"] td[data-col="lag"]'
        wait(driver, 20, lambda d: d.execute_script(
            "const e = document.querySelector(arguments[0]); return e && e.getAttribute('data-value');", glag) == "0",
             f"the groups table to list {GROUP} with lag 0")

        # Header.
        conn = driver.find_element("id", "conn-state").text.strip().lower()
        ready = driver.find_element("id", "ready-state").text.strip().lower()
        version = driver.find_element("id", "version").text.strip()
        if conn != "connected" or ready != "ready" or version in ("", "\u2013"):
            raise Failure(f"header: connection {conn!r}, ready state {ready!r}, version {version!r}")
        log(f"header: {version}, {conn}, {ready}")

        # Live traffic while the page watches: the records/s chart must show
        # records going in and out.
        for i in range(4):
            sentryctl(args.sentryctl, broker, "produce", TOPIC, "--acks", "1",
                      stdin="".join(f"live-{i}-{j}\n" for j in range(400)))
            sentryctl(args.sentryctl, broker, "consume", TOPIC, "--group", GROUP)
            wait_next_scrapes(driver, 1)
        rates_js = """
            const ch = Chart.getChart('chart-records'); const r = {};
            for (const d of ch.data.datasets) r[d.label] = d.data.some(p => p.y > 0);
            return r;"""
        wait(driver, 10, lambda d: all(d.execute_script(rates_js).get(k) for k in ("in", "out")),
             lambda: f"records/s in and out above 0 on the chart: {driver.execute_script(rates_js)}")
        log("records/s charted while producing and consuming")

        os.makedirs(args.out, exist_ok=True)
        screenshot(driver, os.path.join(args.out, "dashboard.png"))

        # Dark mode through prefers-color-scheme.
        set_color_scheme(driver, "dark")
        wait(driver, 10, lambda d: body_attr(d, "data-theme") == "dark", "<body data-theme=\"dark\"> after emulating prefers-color-scheme: dark")
        bg = driver.execute_script("""
            const m = getComputedStyle(document.body).backgroundColor.match(/\\d+(\\.\\d+)?/g).map(Number);
            return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255;""")
        if bg > 0.3:
            raise Failure(f"dark mode: the page background is light (luminance {bg:.2f})")
        screenshot(driver, os.path.join(args.out, "dashboard-dark.png"))

        # The console: no errors.
        entries = driver.get_log("browser")
        severe = [e for e in entries if e.get("level") == "SEVERE"]
        for e in entries:
            if e.get("level") != "SEVERE":
                log(f"console {e.get('level')}: {e.get('message')}")
        if severe:
            counts = {}
            for e in severe:
                counts[e.get("message")] = counts.get(e.get("message"), 0) + 1
            raise Failure("browser console errors:\n" + "\n".join(
                f"  {m}" + (f" (x{n})" if n > 1 else "") for m, n in counts.items()))
    finally:
        if driver is not None:
            try:
                driver.quit()
            except Exception as e:  # noqa: BLE001 - the browser may be gone already
                log(f"closing the browser: {e}")
        rc = broker.stop()
        log(f"sentryd stopped (exit code {rc})")
    if rc != 0:
        raise Failure(f"sentryd exited with code {rc} after SIGTERM")
    return broker


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sentryd", required=True, help="sentryd binary (with the HTTP listener)")
    p.add_argument("--sentryctl", required=True, help="sentryctl binary")
    p.add_argument("--out", required=True, help="directory for dashboard.png and dashboard-dark.png")
    args = p.parse_args()
    for what in ("sentryd", "sentryctl"):
        path = getattr(args, what)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            print(f"FAIL: --{what} {path}: not an executable file", file=sys.stderr)
            return 2
    args.sentryd = os.path.abspath(args.sentryd)
    args.sentryctl = os.path.abspath(args.sentryctl)
    args.out = os.path.abspath(args.out)

    def on_alarm(signum, frame):
        raise Failure(f"the test did not finish within {TIMEOUT_S}s")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIMEOUT_S)
    work = tempfile.mkdtemp(prefix="sentry-dashboard-")
    broker_log = os.path.join(work, "sentryd.log")
    try:
        run(args, work)
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        print(f"(work directory kept: {work})")
        try:
            with open(broker_log, "rb") as f:
                tail = f.read().decode("utf-8", "replace").splitlines()[-25:]
            print("--- sentryd log (last lines) ---\n" + "\n".join(tail))
        except OSError:
            pass
        return 1
    except Exception as e:  # noqa: BLE001 - anything else is a failure too, with its trace
        import traceback
        traceback.print_exc()
        print(f"FAIL: {type(e).__name__}: {e}\n(work directory kept: {work})", flush=True)
        return 1
    finally:
        signal.alarm(0)
    shutil.rmtree(work, ignore_errors=True)
    print(f"PASS: dashboard_test ({time.monotonic() - T0:.1f}s); screenshots in {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
